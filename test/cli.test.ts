// docs/api.md §1: every spelling of the port flag, -v, and one-line errors.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startSim, Sim } from './helpers/sim.js';
import { portToName } from './helpers/ports.js';
import { BIN, startServer, stopAll, tempDir } from './helpers/server.js';

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });

let sim: Sim;
test.before(async () => {
  sim = await startSim();
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

test('-v and --version print the package version and exit 0', () => {
  for (const flag of ['-v', '--version']) {
    const r = run([flag]);
    assert.is(r.status, 0);
    assert.is(r.stdout.trim(), version);
  }
});

test('a bad port exits non-zero with one line naming the problem', () => {
  for (const args of [['-p', 'abc'], ['-p=70000'], ['--port=-1'], ['-p99999']]) {
    const r = run(args);
    assert.is.not(r.status, 0, `exit status for ${args.join(' ')}`);
    assert.is(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /port/);
  }
  const env = run([], { WECHAT_SCHEDULER_PORT: 'abc' });
  assert.is.not(env.status, 0);
  assert.match(env.stderr, /invalid port "abc"/);
  const workers = run(['--workers', 'zero']);
  assert.is.not(workers.status, 0);
  assert.match(workers.stderr, /workers/);
});

test('every spelling of the port flag is accepted (checked by a real listen on a free port)', async () => {
  for (const spell of ['-p N', '-p=N', '-pN', '--port N', '--port=N']) {
    const port = await portToName();
    const flag = spell.replace('N', String(port)).split(' ');
    // startServer passes -p 0 first; the later flag wins in commander.
    const srv = await startServer({ wechatApi: sim.url, args: flag, dataDir: `${tempDir()}/d` });
    assert.is(srv.port, port, spell);
    const h = await srv.api.get('/healthz');
    assert.is(h.status, 200);
    assert.equal(h.body, { code: 200, message: '', result: 'ok' });
    assert.is(await srv.stop(), 0);
  }
});

test.run();
