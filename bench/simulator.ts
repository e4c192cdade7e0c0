// Simulator benchmark: CPU the WeChat simulator spends per token call, at the
// scale bench/scale.ts drives it (the simulator shares the 2 cores with the
// server under test, so its CPU is taken from the server's figures).
//
// Each simulator (this checkout, and each `--before` revision or built
// directory) runs `wechat-scheduler simulate` in its own process and is first
// filled with `--tokens` calls, one per app (GET /cgi-bin/token for
// token apps, api_authorizer_token for a share `--authorizers` of authorizers
// of one component), so it holds that many live tokens and apps. Then in
// interleaved rounds (order alternating) wrk sends `--calls` more calls over
// `--connections` keep-alive connections, cycling over the same apps, and
// the simulator's CPU is read from /proc around each run.
//
//   node --import tsx bench/simulator.ts [--tokens 100000] [--calls 10000] [--rounds 16] [--connections 64]
//        [--authorizers 0.1] [--expires-in 7200] [--wrk-threads 1] [--before REV|DIR[,REV2]] [--prof DIR]
//
// --prof DIR: each simulator writes a V8 CPU profile (fill and rounds) into DIR when it stops.
import { loadavg } from 'node:os';
import { flags, fmt, median, table } from './lib/args.js';
import { checkout } from './lib/checkout.js';
import { cpuSplit, rssMb, threadCpu } from './lib/proc-stats.js';
import { BIN, sleep, startSimulator, type Proc } from './lib/procs.js';
import { wrkSimToken, type WrkSimTokenOptions } from './lib/wrk-sim-token.js';
import { at, must } from '../test/helpers/must.js';

const opt = flags({
  tokens: 100000,
  calls: 10000,
  rounds: 16,
  connections: 64,
  authorizers: 0.1,
  expiresIn: 7200,
  wrkThreads: 1,
  before: '',
  prof: '',
});
const COMPONENT = 'wxbenchcomp';
const every = opt.authorizers > 0 ? Math.round(1 / opt.authorizers) : 0;
const authorizers = every > 0 ? Math.ceil(opt.tokens / every) : 0;
const apps = opt.tokens - authorizers;

interface Sim {
  name: string;
  proc: Proc;
  componentToken: string;
}
interface Sample {
  perS: number;
  cpuMsPerCall: number;
  userMsPerCall: number;
  mainMsPerCall: number;
  loaderMsPerCall: number;
  p99Ms: number;
  load1: number;
}

async function componentToken(url: string): Promise<string> {
  const r = await fetch(`${url}/cgi-bin/component/api_component_token`, {
    method: 'POST',
    body: JSON.stringify({
      component_appid: COMPONENT,
      component_appsecret: 'cs',
      component_verify_ticket: 'ticket@@@bench',
    }),
  });
  const body = (await r.json()) as { component_access_token?: string };
  if (!body.component_access_token) throw new Error(`component token: ${JSON.stringify(body)}`);
  return body.component_access_token;
}

/** CPU seconds of the simulator's main (JavaScript) thread; the rest is GC helpers and libuv's pool. */
function mainThreadCpu(pid: number): number {
  return threadCpu([pid]).get(`${pid}:main:${pid}`) ?? NaN;
}

/** `count` calls from index `start`; the simulator's CPU around them. */
async function drive(sim: Sim, count: number, start: number, runId: string): Promise<Sample> {
  const load: WrkSimTokenOptions = {
    url: sim.proc.url,
    count,
    start,
    apps,
    appPrefix: 'wxs',
    every,
    authorizers,
    authPrefix: 'wxa',
    componentAppid: COMPONENT,
    componentToken: sim.componentToken,
    runId,
    connections: opt.connections,
    threads: opt.wrkThreads,
  };
  const c0 = cpuSplit([sim.proc.pid]);
  const m0 = mainThreadCpu(sim.proc.pid);
  const r = await wrkSimToken(load);
  // Up to connections − 1 calls were still in flight when wrk stopped (≤ 0.6 % of 10,000); let them finish.
  await sleep(200);
  const c1 = cpuSplit([sim.proc.pid]);
  const main = mainThreadCpu(sim.proc.pid) - m0;
  const user = c1.user - c0.user;
  const cpu = user + c1.system - c0.system;
  return {
    perS: r.perS,
    cpuMsPerCall: (cpu * 1000) / count,
    userMsPerCall: (user * 1000) / count,
    mainMsPerCall: (main * 1000) / count,
    loaderMsPerCall: (r.loaderCpuS * 1000) / count,
    p99Ms: r.p99Ms,
    load1: at(loadavg(), 0),
  };
}

const line = (what: string, s: Sample) =>
  `${what}: ${fmt(s.perS)} calls/s, simulator ${fmt(s.cpuMsPerCall, 4)} ms CPU/call ` +
  `(user ${fmt(s.userMsPerCall, 4)}, main thread ${fmt(s.mainMsPerCall, 4)}), ` +
  `wrk ${fmt(s.loaderMsPerCall, 4)} ms CPU/call, p99 ${fmt(s.p99Ms, 1)} ms, load ${fmt(s.load1, 1)}`;

const targets = [
  { name: 'current', bin: BIN },
  ...String(opt.before)
    .split(',')
    .filter(Boolean)
    .map((b) => {
      const c = checkout(b);
      return { name: c.name, bin: c.bin };
    }),
];
const sims: Sim[] = [];
for (const t of targets) {
  const proc = await startSimulator(opt.expiresIn, t.bin, opt.prof ? ['--cpu-prof', `--cpu-prof-dir=${opt.prof}`] : []);
  const sim = { name: t.name, proc, componentToken: await componentToken(proc.url) };
  sims.push(sim);
  const fill = await drive(sim, opt.tokens, 0, 'fill');
  console.log(
    line(`fill ${sim.name} (${opt.tokens} apps, first call each)`, fill) +
      `, RSS ${fmt(rssMb([proc.pid]))} MB, pid ${proc.pid}`,
  );
}

const results = new Map<string, Sample[]>(sims.map((s) => [s.name, []]));
for (let round = 0; round < opt.rounds; round++) {
  const order = round % 2 === 0 ? sims : [...sims].reverse();
  for (const sim of order) {
    const s = await drive(sim, opt.calls, opt.tokens + round * opt.calls, `r${round}`);
    results.get(sim.name)!.push(s);
    console.log(line(`round ${round + 1} ${sim.name}`, s));
  }
}

console.log(
  `\nsimulator — ${opt.tokens} apps filled (${apps} token apps, ${authorizers} authorizers), then ${opt.calls} calls per round ` +
    `(every ${every || '-'}th an authorizer call), ${opt.connections} connections, expires_in ${opt.expiresIn} s`,
);
console.log(
  table(
    [
      'simulator',
      'calls/s',
      'sim CPU ms/call',
      'of it user',
      'main thread',
      'wrk CPU ms/call',
      'p99 ms',
      'RSS MB (end)',
      'rounds (sim CPU ms/call)',
    ],
    sims.map((sim) => {
      const rs = results.get(sim.name)!;
      return [
        sim.name,
        fmt(median(rs.map((r) => r.perS))),
        fmt(median(rs.map((r) => r.cpuMsPerCall)), 4),
        fmt(median(rs.map((r) => r.userMsPerCall)), 4),
        fmt(median(rs.map((r) => r.mainMsPerCall)), 4),
        fmt(median(rs.map((r) => r.loaderMsPerCall)), 4),
        fmt(median(rs.map((r) => r.p99Ms)), 1),
        fmt(rssMb([sim.proc.pid])),
        rs.map((r) => fmt(r.cpuMsPerCall, 4)).join(' '),
      ];
    }),
  ),
);
// Per-round ratios against the first simulator (same round, so a burst of load elsewhere hits both alike).
for (const sim of sims.slice(1)) {
  const first = at(sims, 0).name;
  const cur = must(results.get(first), `results of ${first}`);
  const other = must(results.get(sim.name), `results of ${sim.name}`);
  for (const [what, pick] of [
    ['sim CPU per call', (r: Sample) => r.cpuMsPerCall],
    ['sim user CPU per call', (r: Sample) => r.userMsPerCall],
    ['calls/s', (r: Sample) => r.perS],
  ] as const) {
    const ratios = cur.map((r, i) => pick(r) / pick(at(other, i)));
    console.log(
      `${first}/${sim.name} ${what}`.padEnd(50) +
        `${ratios.map((x) => fmt(x, 2)).join(' ')}  median ${fmt(median(ratios), 2)}`,
    );
  }
}
for (const sim of sims) await sim.proc.stop();
process.exit(0);
