// Registration-only benchmark (issue 6, round 2): POST /registe of type-0 apps
// from `concurrency` keep-alive clients while WeChat hangs (a TCP server that
// accepts and never answers), so the figure is what registering costs, not
// fetching. Servers (this checkout, and `--before DIR` checkouts, built) run
// in interleaved rounds on fresh data dirs; CPU is the server tree's from /proc.
//
//   node --import tsx bench/registration.ts [--apps 12000] [--rounds 3] [--concurrency 64] [--workers 2]
//        [--before DIR[,DIR2]] [--simulator 0|1 (fetch from the simulator instead of hanging)] [--prof DIR]
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Pool } from 'undici';
import { flags, fmt, median, table } from './lib/args.js';
import { cpuSeconds, tree } from './lib/proc-stats.js';
import { Proc, startServer, startSimulator, tempDir } from './lib/procs.js';

const opt = flags({ apps: 12000, rounds: 3, concurrency: 64, workers: 2, before: '', simulator: 0, prof: '' });
const TOKEN = 'bench-token-0123456789abcdef';

const hang = createServer(() => undefined);
await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
let sim: Proc | undefined;
if (opt.simulator) sim = await startSimulator(600);
const wechatApi = sim ? sim.url : `http://127.0.0.1:${(hang.address() as { port: number }).port}`;

const servers = [{ name: 'current', bin: undefined as string | undefined }, ...String(opt.before).split(',').filter(Boolean).map((d) => ({ name: d, bin: join(d, 'bin', 'wechat-scheduler') }))];
const results = new Map<string, Array<{ perS: number; perCpuS: number }>>(servers.map((s) => [s.name, []]));

for (let round = 0; round < opt.rounds; round++) {
  for (const s of servers) {
    const server = await startServer({
      bin: s.bin, wechatApi, dataDir: join(tempDir(), 'data'), token: TOKEN, workers: opt.workers,
      nodeArgs: opt.prof ? ['--cpu-prof', `--cpu-prof-dir=${opt.prof}`] : [],
    });
    const pool = new Pool(server.url, { connections: opt.concurrency, pipelining: 1 });
    let next = 0;
    const t0 = Date.now();
    const c0 = cpuSeconds(tree(server.pid));
    await Promise.all(Array.from({ length: opt.concurrency }, async () => {
      while (next < opt.apps) {
        const i = next++;
        const r = await pool.request({
          method: 'POST', path: '/registe',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ appid: `wxapp${String(i).padStart(7, '0')}`, appsecret: `secret-${i}`, tasks: [{ type: 0 }] }),
        });
        const text = await r.body.text();
        if (r.statusCode !== 200) throw new Error(`POST /registe: ${r.statusCode} ${text}`);
      }
    }));
    const seconds = (Date.now() - t0) / 1000;
    const cpu = cpuSeconds(tree(server.pid)) - c0;
    results.get(s.name)!.push({ perS: opt.apps / seconds, perCpuS: opt.apps / cpu });
    console.log(`round ${round + 1} ${s.name}: ${fmt(opt.apps / seconds)} registrations/s, ${fmt(opt.apps / cpu)} per server CPU-s`);
    await pool.close();
    await server.stop();
  }
}

console.log(`\nregistration only — ${opt.apps} type-0 apps per round, ${opt.concurrency} clients, --workers ${opt.workers}, WeChat ${sim ? 'simulator' : 'hanging'}`);
console.log(table(['server', 'registrations/s', 'per server CPU-s', 'rounds (reg/s)'], servers.map((s) => {
  const rs = results.get(s.name)!;
  return [s.name, fmt(median(rs.map((r) => r.perS))), fmt(median(rs.map((r) => r.perCpuS))), rs.map((r) => fmt(r.perS)).join(' ')];
})));
await sim?.stop();
hang.close();
// Undici's keep-alive sockets to the hanging server are the server's, not ours; nothing else to wait for.
process.exit(0);
