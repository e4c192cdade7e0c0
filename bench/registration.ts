// Registration-only benchmark (issue 6): POST /registe of type-0 apps from
// `concurrency` keep-alive connections while WeChat hangs (a TCP server that
// accepts and never answers), so the figure is what registering costs, not
// fetching. Servers (this checkout, and `--before DIR` checkouts, built) and
// load generators (wrk with bench/lib/wrk-register.lua, or an undici Pool in
// this process) run in interleaved rounds on fresh data dirs; CPU is read
// from /proc for the server tree and for the load generator.
//
//   node --import tsx bench/registration.ts [--apps 12000] [--rounds 3] [--concurrency 64] [--workers 2]
//        [--loader wrk|undici|wrk,undici] [--wrk-threads 1]
//        [--before REV|DIR[,REV2|DIR2]] [--simulator 0|1 (fetch from the simulator instead of hanging)] [--prof DIR]
//        [--node-args '--flag …' (node flags for every server)]
//
// With --simulator 1 each round also waits until /metrics reports every app
// ready and reports the server's CPU per registration *including its first
// fetch* (load window through the last fetch), split into the generation's
// main thread (the front) and its other threads (shards, GC, libuv).
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { checkout } from './lib/checkout.js';
import { flags, fmt, median, table } from './lib/args.js';
import { cpuSeconds, threadCpu, tree } from './lib/proc-stats.js';
import { Proc, sleep, startServer, startSimulator, tempDir } from './lib/procs.js';
import { verifyApps, wrkRegister } from './lib/wrk-register.js';
import { at, must } from '../test/helpers/must.js';

const opt = flags({
  apps: 12000,
  rounds: 3,
  concurrency: 64,
  workers: 2,
  loader: 'wrk',
  wrkThreads: 1,
  before: '',
  simulator: 0,
  prof: '',
  nodeArgs: '',
});
const TOKEN = 'bench-token-0123456789abcdef';
const PREFIX = 'wxapp';

type Loader = 'wrk' | 'undici';
const loaders = String(opt.loader).split(',').filter(Boolean) as Loader[];
for (const l of loaders)
  if (l !== 'wrk' && l !== 'undici') throw new Error(`--loader ${l}: use wrk, undici or wrk,undici`);

/** What one loader run reports: wall time and its own CPU seconds. */
interface Load {
  seconds: number;
  loaderCpuS: number;
}

/** Node undici Pool in this process: the bench's own CPU is the loader's. */
async function undiciLoad(url: string): Promise<Load> {
  const pool = new Pool(url, { connections: opt.concurrency, pipelining: 1 });
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: opt.concurrency }, async () => {
      while (next < opt.apps) {
        const i = next++;
        const r = await pool.request({
          method: 'POST',
          path: '/registe',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            appid: `${PREFIX}${String(i).padStart(7, '0')}`,
            appsecret: `secret-${i}`,
            tasks: [{ type: 0 }],
          }),
        });
        const text = await r.body.text();
        if (r.statusCode !== 200) throw new Error(`POST /registe: ${r.statusCode} ${text}`);
      }
    }),
  );
  const seconds = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await pool.close();
  return { seconds, loaderCpuS: (cpu.user + cpu.system) / 1e6 };
}

async function wrkLoad(url: string): Promise<Load> {
  const r = await wrkRegister({
    url,
    total: opt.apps,
    prefix: PREFIX,
    token: TOKEN,
    connections: opt.concurrency,
    threads: opt.wrkThreads,
  });
  return { seconds: r.seconds, loaderCpuS: r.loaderCpuS };
}

const hang = createServer(() => undefined);
await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
let sim: Proc | undefined;
if (opt.simulator) sim = await startSimulator(600);
const wechatApi = sim ? sim.url : `http://127.0.0.1:${(hang.address() as { port: number }).port}`;

const servers = [
  { name: 'current', bin: undefined as string | undefined },
  ...String(opt.before)
    .split(',')
    .filter(Boolean)
    .map((d) => checkout(d)),
];
interface Sample {
  perS: number;
  perCpuS: number;
  loaderMsPerReg: number;
  load1: number;
  fetched?: Fetched;
}
/** Server CPU ms per registration from the load's start until every app was fetched: all of it, the front's main thread, the rest. */
interface Fetched {
  msPerReg: number;
  frontMsPerReg: number;
  otherMsPerReg: number;
  seconds: number;
}

/** Ready tasks as /metrics counts them. */
async function readyCount(url: string): Promise<number> {
  const r = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const m = /wechat_scheduler_tasks\{state="ready"\} (\d+)/.exec(await r.text());
  return m ? Number(m[1]) : 0;
}

/** CPU seconds of the generation's main thread (the front) and of all the server's other threads. */
function split(pid: number): { front: number; other: number } {
  const pids = tree(pid);
  // tree() lists the supervisor first, then the generation process it forked.
  const generation = pids[1];
  let front = 0;
  let other = 0;
  for (const [k, v] of threadCpu(pids)) {
    if (k.startsWith(`${generation}:main:`)) front += v;
    else other += v;
  }
  return { front, other };
}
const key = (server: string, loader: Loader) => `${server}\t${loader}`;
const results = new Map<string, Sample[]>();

for (let round = 0; round < opt.rounds; round++) {
  for (const loader of loaders) {
    for (const s of servers) {
      const server = await startServer({
        bin: s.bin,
        wechatApi,
        dataDir: join(tempDir(), 'data'),
        token: TOKEN,
        workers: opt.workers,
        nodeArgs: [
          ...(opt.prof ? ['--cpu-prof', `--cpu-prof-dir=${opt.prof}`] : []),
          ...String(opt.nodeArgs).split(' ').filter(Boolean),
        ],
      });
      const c0 = cpuSeconds(tree(server.pid));
      const s0 = split(server.pid);
      const t0 = Date.now();
      const load = loader === 'wrk' ? await wrkLoad(server.url) : await undiciLoad(server.url);
      const cpu = cpuSeconds(tree(server.pid)) - c0;
      const sLoad = split(server.pid);
      await verifyApps(server.url, TOKEN, PREFIX, opt.apps);
      let fetched: Fetched | undefined;
      if (sim) {
        while ((await readyCount(server.url)) < opt.apps) {
          if (Date.now() - t0 > 600_000) throw new Error('apps not all fetched within 600 s');
          await sleep(100);
        }
        const s1 = split(server.pid);
        const perReg = (sec: number) => (sec * 1000) / opt.apps;
        fetched = {
          msPerReg: perReg(s1.front + s1.other - s0.front - s0.other),
          frontMsPerReg: perReg(s1.front - s0.front),
          otherMsPerReg: perReg(s1.other - s0.other),
          seconds: (Date.now() - t0) / 1000,
        };
      }
      const sample: Sample = {
        perS: opt.apps / load.seconds,
        perCpuS: opt.apps / cpu,
        loaderMsPerReg: (load.loaderCpuS * 1000) / opt.apps,
        load1: at(loadavg(), 0),
        fetched,
      };
      results.set(key(s.name, loader), [...(results.get(key(s.name, loader)) ?? []), sample]);
      console.log(
        `round ${round + 1} ${s.name} (${loader}): ${fmt(sample.perS)} registrations/s, ${fmt(sample.perCpuS)} per server CPU-s, ` +
          `server ${fmt((cpu * 1000) / opt.apps, 3)} ms CPU/reg (front main ${fmt(((sLoad.front - s0.front) * 1000) / opt.apps, 3)}, ` +
          `other threads ${fmt(((sLoad.other - s0.other) * 1000) / opt.apps, 3)}), loader ${fmt(sample.loaderMsPerReg, 3)} ms CPU/reg, load ${fmt(sample.load1, 1)}` +
          (fetched
            ? `; all fetched after ${fmt(fetched.seconds, 1)} s: server ${fmt(fetched.msPerReg, 3)} ms CPU/reg with its fetch (front main ${fmt(fetched.frontMsPerReg, 3)}, other threads ${fmt(fetched.otherMsPerReg, 3)})`
            : ''),
      );
      await server.stop();
    }
  }
}

console.log(
  `\nregistration only — ${opt.apps} type-0 apps per round, ${opt.concurrency} connections, --workers ${opt.workers}, WeChat ${sim ? 'simulator' : 'hanging'}`,
);
const withFetch = sim ? ['CPU ms/reg with fetch', 'front main', 'other threads'] : [];
console.log(
  table(
    [
      'server',
      'loader',
      'registrations/s',
      'per server CPU-s',
      'loader CPU ms/reg',
      ...withFetch,
      'rounds (reg/s)',
      'load avg',
    ],
    servers.flatMap((s) =>
      loaders.map((l) => {
        const rs = must(results.get(key(s.name, l)), `results of ${s.name}`);
        const fetchCols = sim
          ? [
              fmt(median(rs.map((r) => r.fetched!.msPerReg)), 3),
              fmt(median(rs.map((r) => r.fetched!.frontMsPerReg)), 3),
              fmt(median(rs.map((r) => r.fetched!.otherMsPerReg)), 3),
            ]
          : [];
        return [
          s.name,
          l,
          fmt(median(rs.map((r) => r.perS))),
          fmt(median(rs.map((r) => r.perCpuS))),
          fmt(median(rs.map((r) => r.loaderMsPerReg)), 3),
          ...fetchCols,
          rs.map((r) => fmt(r.perS)).join(' '),
          rs.map((r) => fmt(r.load1, 1)).join(' '),
        ];
      }),
    ),
  ),
);
// Per-round ratios against the first server (same loader, same round, so a burst of load elsewhere hits both alike).
const first = at(servers, 0).name;
for (const s of servers.slice(1)) {
  for (const l of loaders) {
    const cur = must(results.get(key(first, l)), `results of ${first}`);
    const other = must(results.get(key(s.name, l)), `results of ${s.name}`);
    const picks: Array<[string, (r: Sample) => number]> = [
      ['registrations/s', (r) => r.perS],
      ['per server CPU-s', (r) => r.perCpuS],
    ];
    if (sim) {
      picks.push(
        ['CPU ms/reg with fetch', (r) => r.fetched?.msPerReg ?? NaN],
        ['front main ms/reg', (r) => r.fetched?.frontMsPerReg ?? NaN],
        ['other threads ms/reg', (r) => r.fetched?.otherMsPerReg ?? NaN],
      );
    }
    for (const [what, pick] of picks) {
      const ratios = cur.map((r, i) => pick(r) / pick(at(other, i)));
      console.log(
        `${first}/${s.name} ${what} (${l})`.padEnd(60) +
          `${ratios.map((x) => fmt(x, 2)).join(' ')}  median ${fmt(median(ratios), 2)}`,
      );
    }
  }
}
await sim?.stop();
hang.close();
// Undici's keep-alive sockets to the hanging server are the server's, not ours; nothing else to wait for.
process.exit(0);
