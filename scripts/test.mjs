#!/usr/bin/env node
// Runs every test/*.test.ts file with uvu, a few files at a time. Most of a
// test's time is spent waiting for token lifetimes and back-offs, not on the
// CPU, so overlapping files keeps `npm test` within CI's budget. Each file's
// output is printed whole when it ends, so files never interleave.
// Usage: node scripts/test.mjs [--jobs N] [name-filter-regex]
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';

const args = process.argv.slice(2);
const jobsAt = args.indexOf('--jobs');
const jobs = jobsAt >= 0 ? Number(args.splice(jobsAt, 2)[1]) : Number(process.env.TEST_JOBS ?? 3);
const filter = args[0] ? new RegExp(args[0]) : null;
const files = readdirSync('test')
  .filter((f) => f.endsWith('.test.ts') && (!filter || filter.test(f)))
  .sort();

const started = Date.now();
const results = [];

function runFile(file) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const escaped = file.replace(/[.]/g, '\\.');
    const child = spawn(process.execPath, ['--import', 'tsx', 'node_modules/uvu/bin.js', 'test', `^${escaped}$`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? '0' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => {
      const seconds = ((Date.now() - t0) / 1000).toFixed(1);
      process.stdout.write(`\n=== ${file} (${seconds} s, exit ${code})\n${out}`);
      results.push({ file, code, seconds });
      resolve();
    });
  });
}

const queue = [...files];
await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let f = queue.shift(); f; f = queue.shift()) await runFile(f);
  }),
);

const failed = results.filter((r) => r.code !== 0);
console.log(
  `\n${results.length} test files, ${failed.length} failed, ${((Date.now() - started) / 1000).toFixed(1)} s with ${jobs} at a time`,
);
for (const r of failed) console.log(`FAILED: ${r.file}`);
process.exit(failed.length ? 1 : 0);
