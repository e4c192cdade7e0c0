// Query-path benchmark (issue 6, part 1): GET /task throughput and p99 with
// wrk against the product (API token configured) and two baselines started
// in the same run — bare node:http from a Map, and minimal Koa + @koa/router.
// Rounds are interleaved (bare, koa, product, bare, …) so that noise from
// other work on the machine hits all three alike; ratios are per round.
//
//   node --import tsx bench/query.ts [--seconds 8] [--rounds 3] [--connections 32] [--threads 1] [--workers 2]
import os from 'node:os';
import { join } from 'node:path';
import { fmt, flags, median, table } from './lib/args.js';
import { Proc, sleep, startBaseline, startServer, startSimulator, tempDir } from './lib/procs.js';
import { wrk, WrkResult } from './lib/wrk.js';

const opt = flags({ seconds: 8, rounds: 3, connections: 32, threads: 1, workers: 2, warmup: 2 });
const TOKEN = 'bench-token-0123456789abcdef';
const APPID = 'wxbench0000000001';
const auth = { Authorization: `Bearer ${TOKEN}` };

async function getText(url: string): Promise<{ status: number; text: string }> {
  const r = await fetch(url, { headers: auth });
  return { status: r.status, text: await r.text() };
}

async function main(): Promise<void> {
  const sim = await startSimulator();
  const product = await startServer({ wechatApi: sim.url, dataDir: join(tempDir(), 'data'), token: TOKEN, workers: opt.workers });
  const reg = await fetch(`${product.url}/registe`, {
    method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ appid: APPID, appsecret: 'bench-secret', tasks: [{ type: 0 }] }),
  });
  if (reg.status !== 200) throw new Error(`registration failed: ${reg.status} ${await reg.text()}`);
  const path = `/task/${APPID}/0`;
  let answer = { status: 0, text: '' };
  for (let i = 0; i < 200 && answer.status !== 200; i++) {
    answer = await getText(product.url + path);
    if (answer.status !== 200) await sleep(100);
  }
  if (answer.status !== 200) throw new Error(`no value: ${answer.text}`);
  const value = (JSON.parse(answer.text) as { result: string }).result;
  const entries = JSON.stringify({ [`${APPID}/0`]: value });
  const bare = await startBaseline('bare-http.ts', { BENCH_ENTRIES: entries });
  const koa = await startBaseline('koa-router.ts', { BENCH_ENTRIES: entries });
  const targets: Array<[string, Proc]> = [['bare node:http', bare], ['koa + router', koa], ['product', product]];
  for (const [name, p] of targets) {
    const got = await getText(p.url + path);
    if (got.text !== answer.text) throw new Error(`${name} answers ${got.text}, product ${answer.text}`);
  }
  // Without the token the product must refuse: the benchmark really runs with auth on.
  const anon = await fetch(product.url + path);
  if (anon.status !== 401) throw new Error(`product answered ${anon.status} without a token`);

  const run = (p: Proc, seconds: number) =>
    wrk({ url: p.url + path, connections: opt.connections, threads: opt.threads, seconds, headers: auth });
  for (const [, p] of targets) await run(p, opt.warmup);

  const results: Record<string, WrkResult[]> = Object.fromEntries(targets.map(([n]) => [n, []]));
  const ratios: Array<{ bare: number; koa: number; p99: number }> = [];
  for (let r = 0; r < opt.rounds; r++) {
    const round: Record<string, WrkResult> = {};
    for (const [name, p] of targets) {
      round[name] = await run(p, opt.seconds);
      results[name].push(round[name]);
    }
    const pr = round.product;
    ratios.push({ bare: pr.rps / round['bare node:http'].rps, koa: pr.rps / round['koa + router'].rps, p99: pr.p99Ms / round['bare node:http'].p99Ms });
    process.stderr.write(`round ${r + 1}: ${targets.map(([n]) => `${n} ${fmt(round[n].rps)} req/s p99 ${fmt(round[n].p99Ms, 2)} ms`).join(' | ')}\n`);
  }

  console.log(`\nGET ${path} — wrk -t${opt.threads} -c${opt.connections} -d${opt.seconds}s × ${opt.rounds} rounds (interleaved), Authorization: Bearer on every request`);
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, load avg ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.version}\n`);
  console.log(table(
    ['server', 'req/s (median)', 'p50 ms', 'p99 ms', 'errors'],
    targets.map(([n]) => [n, fmt(median(results[n].map((x) => x.rps))), fmt(median(results[n].map((x) => x.p50Ms)), 2), fmt(median(results[n].map((x) => x.p99Ms)), 2), results[n].reduce((a, x) => a + x.errors, 0)]),
  ));
  const rb = median(ratios.map((x) => x.bare));
  const rk = median(ratios.map((x) => x.koa));
  const rp = median(ratios.map((x) => x.p99));
  console.log(`\nproduct/bare req/s  ${ratios.map((x) => x.bare.toFixed(2)).join(' ')}  median ${rb.toFixed(2)}  (target ≥ 0.70) ${rb >= 0.7 ? 'PASS' : 'FAIL'}`);
  console.log(`product/koa  req/s  ${ratios.map((x) => x.koa.toFixed(2)).join(' ')}  median ${rk.toFixed(2)}`);
  console.log(`product/bare p99    ${ratios.map((x) => x.p99.toFixed(2)).join(' ')}  median ${rp.toFixed(2)}  (target ≤ 2.00) ${rp <= 2 ? 'PASS' : 'FAIL'}`);

  for (const [, p] of targets) await p.stop();
  await sim.stop();
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
