// Query-path benchmark (issue 6, part 1): GET /task throughput and p99 with
// wrk against the product (API token configured) and two baselines started
// in the same run — bare node:http from a Map, and minimal Koa + @koa/router.
// Rounds are interleaved (bare, koa, product, bare, …) so that noise from
// other work on the machine hits all three alike; ratios are per round.
// Besides wall-clock req/s (which other load on a shared box moves a lot),
// each server's CPU time during the run is read from /proc: "CPU req/s" =
// requests / CPU-seconds is what one core could serve, and is far steadier.
//
//   node --import tsx bench/query.ts [--seconds 8] [--rounds 3] [--connections 32] [--threads 1] [--workers 2]
//                                    [--before REV|DIR]   (a revision, or a built checkout; measured as a 4th server)
//                                    [--prof DIR]         (the product writes CPU profiles there when it stops)
//                                    [--quiet S]          (each server gets no request for S seconds after its start and
//                                                          before each of its runs: a server that sat quiet before its
//                                                          traffic came, when V8's idle-time collection has run)
import os from 'node:os';
import { join } from 'node:path';
import { checkout } from './lib/checkout.js';
import { fmt, flags, median, table } from './lib/args.js';
import { at, must } from '../test/helpers/must.js';
import { Proc, sleep, startBaseline, startServer, startSimulator, tempDir } from './lib/procs.js';
import { cpuSeconds, tree } from './lib/proc-stats.js';
import { wrk, WrkResult } from './lib/wrk.js';

const opt = flags({
  seconds: 8,
  rounds: 3,
  connections: 32,
  threads: 1,
  workers: 2,
  warmup: 2,
  before: '',
  prof: '',
  quiet: 0,
});
const TOKEN = 'bench-token-0123456789abcdef';
const APPID = 'wxbench0000000001';
const auth = { Authorization: `Bearer ${TOKEN}` };

async function getText(url: string): Promise<{ status: number; text: string }> {
  const r = await fetch(url, { headers: auth });
  return { status: r.status, text: await r.text() };
}

async function main(): Promise<void> {
  const sim = await startSimulator();
  const product = await startServer({
    wechatApi: sim.url,
    dataDir: join(tempDir(), 'data'),
    token: TOKEN,
    workers: opt.workers,
    nodeArgs: opt.prof ? ['--cpu-prof', `--cpu-prof-dir=${opt.prof}`] : [],
  });
  const reg = await fetch(`${product.url}/registe`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/json' },
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
  const targets: Array<[string, Proc]> = [
    ['bare node:http', bare],
    ['koa + router', koa],
    ['product', product],
  ];
  if (opt.before) {
    // The same data dir is fine: both read the one registration; only one of them fetches (the first owns it, the
    // store is shared WAL) — but to keep "one owner" true the before-server gets its own copy of the value instead.
    const old = await startServer({
      wechatApi: sim.url,
      dataDir: join(tempDir(), 'data'),
      token: TOKEN,
      workers: opt.workers,
      bin: checkout(opt.before).bin,
    });
    await fetch(`${old.url}/registe`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ appid: APPID, appsecret: 'bench-secret', tasks: [{ type: 0 }] }),
    });
    for (let i = 0; i < 200 && (await getText(old.url + path)).status !== 200; i++) await sleep(100);
    targets.push(['product (before)', old]);
  }
  for (const [name, p] of targets) {
    const got = await getText(p.url + path);
    if (got.text.length !== answer.text.length || got.status !== 200)
      throw new Error(`${name} answers ${got.status} ${got.text}, product ${answer.text}`);
  }
  // Without the token the product must refuse: the benchmark really runs with auth on.
  const anon = await fetch(product.url + path);
  if (anon.status !== 401) throw new Error(`product answered ${anon.status} without a token`);

  type Run = WrkResult & { cpuRps: number };
  const lastRun = new Map<Proc, number>();
  const run = async (p: Proc, seconds: number): Promise<Run> => {
    const quietFor = (Date.now() - must(lastRun.get(p), 'last run')) / 1000;
    if (quietFor < opt.quiet) await sleep((opt.quiet - quietFor) * 1000);
    const pids = tree(p.pid);
    const cpu0 = cpuSeconds(pids);
    const r = await wrk({
      url: p.url + path,
      connections: opt.connections,
      threads: opt.threads,
      seconds,
      headers: auth,
    });
    lastRun.set(p, Date.now());
    return { ...r, cpuRps: r.requests / Math.max(0.01, cpuSeconds(pids) - cpu0) };
  };
  for (const [, p] of targets) lastRun.set(p, Date.now());
  for (const [, p] of targets) await run(p, opt.warmup);

  const results: Record<string, Run[]> = Object.fromEntries(targets.map(([n]) => [n, []]));
  const runsOf = (n: string) => must(results[n], `runs of ${n}`);
  for (let r = 0; r < opt.rounds; r++) {
    const round: string[] = [];
    for (const [name, p] of targets) {
      const x = await run(p, opt.seconds);
      runsOf(name).push(x);
      round.push(`${name} ${fmt(x.rps)} req/s (CPU ${fmt(x.cpuRps)}) p99 ${fmt(x.p99Ms, 2)} ms`);
    }
    process.stderr.write(`round ${r + 1}: ${round.join(' | ')}\n`);
  }

  console.log(
    `\nGET ${path} — wrk -t${opt.threads} -c${opt.connections} -d${opt.seconds}s × ${opt.rounds} rounds (interleaved${opt.quiet ? `, each run after ≥ ${opt.quiet} s without requests` : ''}), Authorization: Bearer on every request`,
  );
  console.log(
    `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, load avg ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, node ${process.version}\n`,
  );
  const med = (n: string, f: (x: Run) => number) => median(runsOf(n).map(f));
  console.log(
    table(
      ['server', 'req/s (median)', 'CPU req/s', 'p50 ms', 'p99 ms', 'errors'],
      targets.map(([n]) => [
        n,
        fmt(med(n, (x) => x.rps)),
        fmt(med(n, (x) => x.cpuRps)),
        fmt(
          med(n, (x) => x.p50Ms),
          2,
        ),
        fmt(
          med(n, (x) => x.p99Ms),
          2,
        ),
        runsOf(n).reduce((a, x) => a + x.errors, 0),
      ]),
    ),
  );
  // Ratios are taken per round (the servers of one round ran back to back) and then the median.
  const ratio = (a: string, b: string, f: (x: Run) => number) => runsOf(a).map((x, i) => f(x) / f(at(runsOf(b), i)));
  const line = (label: string, xs: number[], target?: [string, (m: number) => boolean]) => {
    const m = median(xs);
    console.log(
      `${label.padEnd(34)} ${xs.map((x) => x.toFixed(2)).join(' ')}  median ${m.toFixed(2)}${target ? `  (target ${target[0]}) ${target[1](m) ? 'PASS' : 'FAIL'}` : ''}`,
    );
  };
  console.log('');
  for (const [n] of targets.slice(2)) {
    line(
      `${n}/bare req/s`,
      ratio(n, 'bare node:http', (x) => x.rps),
      ['≥ 0.80', (m) => m >= 0.8],
    );
    line(
      `${n}/bare CPU req/s`,
      ratio(n, 'bare node:http', (x) => x.cpuRps),
      ['≥ 0.80', (m) => m >= 0.8],
    );
    line(
      `${n}/bare p99`,
      ratio(n, 'bare node:http', (x) => x.p99Ms),
      ['≤ 2.00', (m) => m <= 2],
    );
    line(
      `${n}/koa req/s`,
      ratio(n, 'koa + router', (x) => x.rps),
    );
    line(
      `${n}/koa CPU req/s`,
      ratio(n, 'koa + router', (x) => x.cpuRps),
    );
  }

  for (const [, p] of targets) await p.stop();
  await sim.stop();
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
