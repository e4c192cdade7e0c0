// Scale benchmark (issue 6, part 2): N tasks on the simulator — type-0 apps
// (one registration each) plus one component whose type-4 authorizers are
// registered in batches — and for each size: registrations/s over HTTP,
// time until every task has a value, RSS of the whole process tree, outbound
// WeChat concurrency, restart time after kill -9 with the refetch count, and
// refresh lateness (actual − scheduled) with a short expires_in.
//
//   node --import tsx bench/scale.ts [--sizes 1000,10000,100000] [--workers 2] [--concurrency 64]
//        [--authorizers 0.1] [--batch 1000] [--expires 0 (auto per size)] [--wechat-concurrency 32]
//        [--node-args '--flag …'] [--env 'K=V …'] [--quick 1 (stop after the RSS figure)] [--settle 20]
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { fmt, flags, percentile, table } from './lib/args.js';
import { cpuSeconds, rssMb, tree } from './lib/proc-stats.js';
import { Proc, sleep, startServer, startSimulator, tempDir, waitUntil } from './lib/procs.js';
import { verifyApps, wrkRegister } from './lib/wrk-register.js';
import { at } from '../test/helpers/must.js';

const opt = flags({
  sizes: '1000,10000,100000',
  workers: 2,
  concurrency: 64,
  authorizers: 0.1,
  batch: 1000,
  expires: 0,
  wechatConcurrency: 32,
  timeout: 900,
  nodeArgs: '',
  env: '',
  quick: 0,
  settle: 20,
});
const TOKEN = 'bench-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };
const COMPONENT = 'wxcomponent0001';

/** expires_in for a size: long enough that no refresh falls into the kill -9 / restart window. */
const expiresFor = (n: number) => opt.expires || (n <= 1_000 ? 60 : n <= 10_000 ? 90 : 240);

interface Row {
  n: number;
  apps: number;
  authorizers: number;
  expiresIn: number;
  regSeconds: number;
  regPerSec: number;
  regPerCpuS: number;
  loaderMsPerReg: number;
  tasksPerSec: number;
  allFetchedS: number;
  rssMb: number;
  rssPeakMb: number;
  rssPerProcess: string;
  heaps: string;
  rssSettled: number;
  heapsSettled: string;
  cpuS: number;
  maxOutbound: number;
  restartListenS: number;
  restoreS: number;
  refetches: number;
  latP50: number;
  latP99: number;
  latMax: number;
  latStartP99: number;
  refreshed: number;
  refreshSpreadS: number;
  peakRefreshPerS: number;
}

async function post(pool: Pool, path: string, body: unknown): Promise<void> {
  const r = await pool.request({
    method: 'POST',
    path,
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await r.body.text();
  if (r.statusCode !== 200) throw new Error(`POST ${path}: ${r.statusCode} ${text}`);
}

async function get(pool: Pool, path: string): Promise<{ status: number; text: string }> {
  const r = await pool.request({ method: 'GET', path, headers: auth });
  return { status: r.statusCode, text: await r.body.text() };
}

/** Each thread's V8 heap as /metrics reports it: "front 40/52, shard-0 …" (MB used/total). */
async function heaps(pool: Pool): Promise<string> {
  const text = (await get(pool, '/metrics')).text;
  const mb = new Map<string, Record<string, number>>();
  for (const m of text.matchAll(/^wechat_scheduler_heap_bytes\{thread="([^"]+)",kind="(used|total)"\} (\d+)/gm)) {
    const thread = at(m, 1);
    mb.set(thread, { ...mb.get(thread), [at(m, 2)]: Number(m[3]) / 1e6 });
  }
  return [...mb].map(([t, h]) => `${t} ${fmt(h.used ?? NaN)}/${fmt(h.total ?? NaN)}`).join(', ');
}

async function readyCount(pool: Pool): Promise<number> {
  const m = /wechat_scheduler_tasks\{state="ready"\} (\d+)/.exec((await get(pool, '/metrics')).text);
  return m ? Number(m[1]) : 0;
}

/** WeChat calls so far, and the most TCP connections open at once (= the server's outbound concurrency). */
async function simStats(sim: Proc): Promise<{ total: number; maxConnections: number }> {
  const r = await fetch(`${sim.url}/__sim/stats`);
  const s = (await r.json()) as { total: number; connections: { max: number } };
  return { total: s.total, maxConnections: s.connections.max };
}

/** When a refresh was due, and when the last one started (expiry counts from the request) and ended. */
interface Sched {
  key: string;
  next: number;
  started: number;
  refreshed: number;
}
function schedule(dataDir: string): Sched[] {
  const db = new Database(join(dataDir, 'wechat-scheduler.db'), { readonly: true, fileMustExist: true });
  try {
    return (
      db
        .prepare(
          'SELECT appid, type, sub, next_refresh_at AS next, expires_at - expires_in * 1000 AS started, refreshed_at AS refreshed FROM tasks',
        )
        .all() as Array<{ appid: string; type: number; sub: string; next: number; started: number; refreshed: number }>
    ).map((r) => ({ key: `${r.appid}/${r.type}/${r.sub}`, next: r.next, started: r.started, refreshed: r.refreshed }));
  } finally {
    db.close();
  }
}

async function runSize(n: number): Promise<Row> {
  const expiresIn = expiresFor(n);
  const authorizers = Math.round(n * opt.authorizers);
  const apps = n - authorizers - 1; // the component's own type-3 task is one of the n
  const sim = await startSimulator(expiresIn);
  const dataDir = join(tempDir(), 'data');
  const serverOpts = {
    wechatApi: sim.url,
    dataDir,
    token: TOKEN,
    workers: opt.workers,
    extra: opt.wechatConcurrency !== 32 ? ['--config', writeConfig()] : [],
    nodeArgs: opt.nodeArgs ? opt.nodeArgs.split(' ') : undefined,
    env: opt.env ? Object.fromEntries(opt.env.split(' ').map((kv) => kv.split('=') as [string, string])) : undefined,
  };
  let server = await startServer(serverOpts);
  let pool = new Pool(server.url, { connections: opt.concurrency, pipelining: 1 });
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(tree(server.pid)))), 500);
  const cpu0 = cpuSeconds(tree(server.pid));

  // Registrations: type-0 apps from `concurrency` clients at once, then the component in batches.
  // wrk (not an undici Pool in this process) so the load generator leaves the 2 cores to the server;
  // it names the apps wxapp + 7-digit index, 0..apps-1, as the sampler below expects.
  const t0 = Date.now();
  const load = await wrkRegister({
    url: server.url,
    total: apps,
    prefix: 'wxapp',
    token: TOKEN,
    connections: opt.concurrency,
  });
  const regCpuS = cpuSeconds(tree(server.pid)) - cpu0;
  await verifyApps(server.url, TOKEN, 'wxapp', apps);
  let registered = 0;
  do {
    // The first batch also carries the component's own type-3 task.
    const tasks: unknown[] = registered === 0 ? [{ type: 3, params: { component_verify_ticket: 'ticket-bench' } }] : [];
    const end = Math.min(authorizers, registered + opt.batch - tasks.length);
    for (let i = registered; i < end; i++) {
      tasks.push({
        type: 4,
        authorizer_appid: `wxauth${String(i).padStart(7, '0')}`,
        params: { authorizer_refresh_token: `rt-${i}` },
      });
    }
    registered = end;
    await post(pool, '/registe', { appid: COMPONENT, appsecret: 'component-secret', tasks });
  } while (registered < authorizers);
  const regDone = Date.now();
  const allFetchedS =
    (regDone - t0) / 1000 +
    (await waitUntil('every task fetched', async () => (await readyCount(pool)) >= n, opt.timeout, 500));
  const pids = tree(server.pid);
  const rssNow = rssMb(pids);
  const rssPerProcess = pids.map((p, i) => `${i === 0 ? 'supervisor' : 'generation'} ${fmt(rssMb([p]))}`).join(', ');
  const heapFigures = await heaps(pool);
  const cpuS = cpuSeconds(tree(server.pid)) - cpu0;
  clearInterval(sampler);
  const maxOutbound = (await simStats(sim)).maxConnections;
  // RSS once the storm is over: V8 gives back what the burst of fetches needed only after it has been idle a while.
  await sleep(opt.settle * 1000);
  const rssSettled = rssMb(tree(server.pid));
  const heapsSettled = await heaps(pool);
  const regSeconds = (regDone - t0) / 1000;
  const firstPhase = {
    n,
    apps,
    authorizers,
    expiresIn,
    regSeconds,
    regPerSec: load.perS,
    regPerCpuS: apps / Math.max(0.01, regCpuS),
    loaderMsPerReg: (load.loaderCpuS * 1000) / apps,
    tasksPerSec: n / regSeconds,
    allFetchedS,
    rssMb: rssNow,
    rssPeakMb: peak,
    rssPerProcess,
    heaps: heapFigures,
    rssSettled,
    heapsSettled,
    cpuS,
    maxOutbound,
  };
  if (opt.quick) {
    await pool.close();
    await server.stop();
    await sim.stop();
    return {
      ...firstPhase,
      restartListenS: NaN,
      restoreS: NaN,
      refetches: NaN,
      latP50: NaN,
      latP99: NaN,
      latMax: NaN,
      latStartP99: NaN,
      refreshed: 0,
      refreshSpreadS: 0,
      peakRefreshPerS: 0,
    };
  }

  // kill -9 the whole tree, restart on the same data dir; nothing may be fetched again.
  await sleep(1000); // let the last group commit of refresh tokens land, as in life
  await pool.close();
  const before = schedule(dataDir);
  const callsBefore = (await simStats(sim)).total;
  await server.kill9();
  const r0 = Date.now();
  server = await startServer(serverOpts);
  const restartListenS = (Date.now() - r0) / 1000;
  pool = new Pool(server.url, { connections: 16, pipelining: 1 });
  // Restored = every task answers its value (a sample across the whole key space) and the metrics see all of them ready.
  const sample = Array.from({ length: 200 }, (_, k) => Math.floor((k * apps) / 200));
  const restoreS =
    restartListenS +
    (await waitUntil(
      'values served after restart',
      async () => {
        const answers = await Promise.all(sample.map((i) => get(pool, `/task/wxapp${String(i).padStart(7, '0')}/0`)));
        const auth0 =
          authorizers > 0
            ? await get(pool, `/task/${COMPONENT}/4?authorizer_appid=wxauth${String(authorizers - 1).padStart(7, '0')}`)
            : { status: 200 };
        return answers.every((a) => a.status === 200) && auth0.status === 200 && (await readyCount(pool)) >= n;
      },
      60,
      20,
    ));
  await sleep(3000); // the shards have loaded and set their timers by now
  const windowEnd = Date.now();
  const due = before.filter((s) => s.next <= windowEnd).length;
  const refetches = (await simStats(sim)).total - callsBefore - due;

  // Refresh lateness: every task's refresh as scheduled before the crash vs when it really happened.
  const lastDue = Math.max(...before.map((s) => s.next));
  await sleep(Math.max(0, lastDue - Date.now()) + 5000);
  const after = new Map(schedule(dataDir).map((s) => [s.key, s]));
  const late: number[] = [];
  const lateStart: number[] = [];
  const perSecond = new Map<number, number>();
  for (const s of before) {
    const a = after.get(s.key);
    if (!a || a.refreshed <= s.refreshed) continue;
    late.push(a.refreshed - s.next);
    lateStart.push(a.started - s.next);
    const sec = Math.floor(a.refreshed / 1000);
    perSecond.set(sec, (perSecond.get(sec) ?? 0) + 1);
  }
  const secs = [...perSecond.keys()];
  await pool.close();
  await server.stop();
  await sim.stop();
  return {
    ...firstPhase,
    restartListenS,
    restoreS,
    refetches,
    latP50: percentile(late, 50) / 1000,
    latP99: percentile(late, 99) / 1000,
    latMax: Math.max(...late) / 1000,
    latStartP99: percentile(lateStart, 99) / 1000,
    refreshed: late.length,
    refreshSpreadS: secs.length ? Math.max(...secs) - Math.min(...secs) + 1 : 0,
    peakRefreshPerS: Math.max(0, ...perSecond.values()),
  };
}

function writeConfig(): string {
  const f = join(tempDir(), 'config.json');
  writeFileSync(f, JSON.stringify({ wechatConcurrency: opt.wechatConcurrency }));
  return f;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const n of String(opt.sizes).split(',').map(Number)) {
    process.stderr.write(`size ${n}: running…\n`);
    const row = await runSize(n);
    process.stderr.write(`size ${n}: ${JSON.stringify(row)}\n`);
    rows.push(row);
  }
  console.log(
    `\nscale — ${opt.workers} shard threads, wechatConcurrency ${opt.wechatConcurrency}/shard, ${opt.concurrency} concurrent registration clients, ${Math.round(opt.authorizers * 100)} % of tasks type-4 authorizers of one component (batches of ${opt.batch})`,
  );
  console.log(
    `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load avg ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, node ${process.version}\n`,
  );
  const cols: Array<[string, (r: Row) => string, string?]> = [
    ['tasks', (r) => String(r.n)],
    ['type-0 apps', (r) => String(r.apps)],
    ['type-4 authorizers', (r) => String(r.authorizers)],
    ['registrations/s (type-0, HTTP)', (r) => fmt(r.regPerSec), '≥ 5000'],
    ['registrations per server CPU s', (r) => fmt(r.regPerCpuS)],
    ['load generator (wrk) CPU ms per registration', (r) => fmt(r.loaderMsPerReg, 3)],
    ['tasks registered/s (all)', (r) => fmt(r.tasksPerSec)],
    ['s until all fetched', (r) => fmt(r.allFetchedS, 1)],
    ['RSS MB, tree, all fetched', (r) => fmt(r.rssMb), '≤ 400'],
    ['RSS MB, tree, peak', (r) => fmt(r.rssPeakMb)],
    ['RSS MB per process, all fetched', (r) => r.rssPerProcess],
    ['heap MB used/total, all fetched', (r) => r.heaps],
    [`RSS MB, tree, ${opt.settle} s later (idle)`, (r) => fmt(r.rssSettled), '≤ 400'],
    [`heap MB used/total, ${opt.settle} s later`, (r) => r.heapsSettled],
    ['CPU s (server tree)', (r) => fmt(r.cpuS, 1)],
    ['max outbound WeChat connections', (r) => String(r.maxOutbound), `≤ ${opt.workers * opt.wechatConcurrency}`],
    ['restart: s to listening', (r) => fmt(r.restartListenS, 2)],
    ['restart: s to all served', (r) => fmt(r.restoreS, 2), '≤ 5'],
    ['refetches after kill -9', (r) => String(r.refetches), '= 0'],
    ['expires_in s (simulator)', (r) => String(r.expiresIn)],
    ['refreshes measured', (r) => String(r.refreshed)],
    ['refresh lateness p50 s', (r) => fmt(r.latP50, 3)],
    ['refresh lateness p99 s', (r) => fmt(r.latP99, 3), '≤ 1'],
    ['refresh lateness max s', (r) => fmt(r.latMax, 3)],
    ['timer lateness p99 s (attempt began)', (r) => fmt(r.latStartP99, 3)],
    ['refreshes spread over s', (r) => String(r.refreshSpreadS)],
    ['peak refreshes in one s', (r) => String(r.peakRefreshPerS)],
  ];
  console.log(
    table(
      ['figure', ...rows.map((r) => `${r.n}`), 'target'],
      cols.map(([name, f, target]) => [name, ...rows.map(f), target ?? '']),
    ),
  );
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
