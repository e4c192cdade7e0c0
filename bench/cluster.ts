// Cluster benchmark (issue 14): three instances of the real binary on one real
// Redis (AOF, appendfsync always) and the simulator, all on this machine.
// N type-0 apps are registered spread over the three (one wrk per instance at
// once); then: registrations/s, time until every instance serves a value for
// every task, RSS of each instance's process tree, Redis memory, GET /task on
// one instance vs bare node:http in the same run, and kill -9 of the instance
// owning the most apps: time until survivors own every app, and WeChat calls
// made after the kill (expires_in is long, so none is due: every call would
// be a refetch).
//
//   node --import tsx bench/cluster.ts [--tasks 1000000] [--workers 1] [--lease-ms 10000] [--concurrency 32]
//        [--seconds 8] [--rounds 3] [--connections 32] [--expires 7200] [--timeout 3600] [--after-kill 10]
import os from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { clusterKeys } from '../lib/cluster/keys.js';
import { SLOT_COUNT } from '../lib/util/shard-of.js';
import { redisMissing, startRedis } from '../test/helpers/redis.js';
import { fmt, flags, median, table } from './lib/args.js';
import { cpuSeconds, rssMb, tree } from './lib/proc-stats.js';
import { Proc, sleep, startBaseline, startServer, startSimulator, tempDir, waitUntil } from './lib/procs.js';
import { verifyApps, wrkRegister } from './lib/wrk-register.js';
import { wrk, WrkResult } from './lib/wrk.js';

const opt = flags({
  tasks: 1_000_000,
  workers: 1,
  leaseMs: 10_000,
  concurrency: 32,
  seconds: 8,
  rounds: 3,
  connections: 32,
  expires: 7200,
  timeout: 3600,
  afterKill: 10,
});
const TOKEN = 'bench-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };
const IDS = ['a', 'b', 'c'] as const;
const prefixOf = (id: string) => `wxcl${id}`;
const appid = (id: string, i: number) => `${prefixOf(id)}${String(i).padStart(7, '0')}`;

interface Instance {
  id: string;
  proc: Proc;
  pool: Pool;
}
interface ClusterView {
  instances: Array<{ id: string; apps: number; tasks: number }>;
  self: string;
}

async function getJson<T>(pool: Pool, path: string): Promise<{ status: number; result: T }> {
  const r = await pool.request({ method: 'GET', path, headers: auth });
  const body = (await r.body.json()) as { result: T };
  return { status: r.statusCode, result: body.result };
}

async function metric(pool: Pool, re: RegExp): Promise<number> {
  const r = await pool.request({ method: 'GET', path: '/metrics', headers: auth });
  const text = await r.body.text();
  let sum = 0;
  for (const m of text.matchAll(re)) sum += Number(m[1]);
  return sum;
}

/** WeChat calls the simulator received: all, and the number of apps that got more than one token call. */
async function simCalls(sim: Proc): Promise<{ total: number; token: number; twice: number }> {
  const r = await fetch(`${sim.url}/__sim/stats`);
  const s = (await r.json()) as { total: number; calls: { token: number }; byApp: Record<string, { token: number }> };
  let twice = 0;
  for (const c of Object.values(s.byApp)) if (c.token > 1) twice++;
  return { total: s.total, token: s.calls.token, twice };
}

async function main(): Promise<void> {
  const missing = redisMissing();
  if (missing) throw new Error(missing);
  const n = opt.tasks;
  const redis = await startRedis();
  const rc = await redis.client();
  const redisPid = Number(/process_id:(\d+)/.exec(await rc.info('server'))?.[1]);
  const sim = await startSimulator(opt.expires);
  const nodes: Instance[] = [];
  for (const id of IDS) {
    const proc = await startServer({
      wechatApi: sim.url,
      dataDir: join(tempDir(), 'data'),
      token: TOKEN,
      workers: opt.workers,
      extra: ['--store', redis.url, '--instance-id', id, '--lease-ms', String(opt.leaseMs)],
    });
    nodes.push({ id, proc, pool: new Pool(proc.url, { connections: 8, pipelining: 1 }) });
  }
  await waitUntil(
    'every instance to see all three',
    async () => {
      for (const node of nodes)
        if ((await getJson<ClusterView>(node.pool, '/cluster')).result.instances.length !== IDS.length) return false;
      return true;
    },
    60,
  );

  // Registrations: one wrk per instance at once, each its own third of the appids.
  const share = (k: number) => Math.floor((n * (k + 1)) / IDS.length) - Math.floor((n * k) / IDS.length);
  const pidsOf = () => nodes.flatMap((node) => tree(node.proc.pid));
  const cpu0 = cpuSeconds(pidsOf());
  const redisCpu0 = cpuSeconds([redisPid]);
  let peak = nodes.map(() => 0);
  let redisPeak = 0;
  const sampler = setInterval(() => {
    peak = nodes.map((node, k) => Math.max(peak[k] ?? 0, rssMb(tree(node.proc.pid))));
    redisPeak = Math.max(redisPeak, rssMb([redisPid]));
  }, 1000);
  process.stderr.write(`registering ${n} apps over ${IDS.length} instances…\n`);
  const t0 = Date.now();
  const loads = await Promise.all(
    nodes.map((node, k) =>
      wrkRegister({
        url: node.proc.url,
        total: share(k),
        prefix: prefixOf(node.id),
        token: TOKEN,
        connections: opt.concurrency,
        timeoutS: opt.timeout,
      }),
    ),
  );
  const regSeconds = (Date.now() - t0) / 1000;
  const regCpuS = cpuSeconds(pidsOf()) - cpu0;
  const regRedisCpuS = cpuSeconds([redisPid]) - redisCpu0;
  process.stderr.write(`registered in ${fmt(regSeconds, 1)} s; waiting for every value…\n`);
  // Every instance lists all N apps (the change feed brought the others' registrations) …
  const listedS = await waitUntil(
    'every instance to list every app',
    async () => {
      for (const node of nodes)
        if ((await getJson<{ total: number }>(node.pool, '/apps?limit=1')).result.total !== n) return false;
      return true;
    },
    opt.timeout,
    1000,
  );
  for (const [k, node] of nodes.entries())
    await verifyApps(nodes[(k + 1) % 3]!.proc.url, TOKEN, prefixOf(node.id), share(k), n);
  // … and has a value for every task.
  const fetchedS =
    regSeconds +
    (await waitUntil(
      'every instance to hold a value for every task',
      async () => {
        for (const node of nodes) {
          const ready = await metric(node.pool, /^wechat_scheduler_tasks\{state="ready"\} (\d+)/gm);
          const without = await metric(node.pool, /^wechat_scheduler_tasks_without_value\{[^}]*\} (\d+)/gm);
          if (ready < n || without > 0) return false;
        }
        return true;
      },
      opt.timeout,
      1000,
    ));
  const cpuS = cpuSeconds(pidsOf()) - cpu0;
  const callsAtFetched = await simCalls(sim);
  clearInterval(sampler);
  const rss = nodes.map((node) => rssMb(tree(node.proc.pid)));
  const mem = await rc.info('memory');
  const redisUsed = Number(/used_memory:(\d+)/.exec(mem)?.[1]) / 1e6;
  const redisRss = Number(/used_memory_rss:(\d+)/.exec(mem)?.[1]) / 1e6;
  const redisKeys = await rc.dbSize();
  process.stderr.write(
    `all fetched at ${fmt(fetchedS, 1)} s; RSS ${rss.map((r) => fmt(r)).join('/')} MB; Redis ${fmt(redisUsed)} MB\n`,
  );

  // GET /task on instance a vs bare node:http, interleaved rounds, 32 connections.
  const [first] = nodes;
  const probe = `/task/${appid('b', 0)}/0`;
  const answer = await first!.pool.request({ method: 'GET', path: probe, headers: auth });
  const answerText = await answer.body.text();
  if (answer.statusCode !== 200) throw new Error(`GET ${probe}: ${answer.statusCode} ${answerText}`);
  const value = (JSON.parse(answerText) as { result: string }).result;
  const bare = await startBaseline('bare-http.ts', {
    BENCH_ENTRIES: JSON.stringify({ [`${appid('b', 0)}/0`]: value }),
  });
  type Run = WrkResult & { cpuRps: number };
  const run = async (p: Proc, seconds: number): Promise<Run> => {
    const pids = tree(p.pid);
    const c0 = cpuSeconds(pids);
    const r = await wrk({ url: p.url + probe, connections: opt.connections, threads: 1, seconds, headers: auth });
    return { ...r, cpuRps: r.requests / Math.max(0.01, cpuSeconds(pids) - c0) };
  };
  await run(bare, 2);
  await run(first!.proc, 2);
  const bareRuns: Run[] = [];
  const productRuns: Run[] = [];
  for (let r = 0; r < opt.rounds; r++) {
    bareRuns.push(await run(bare, opt.seconds));
    productRuns.push(await run(first!.proc, opt.seconds));
    process.stderr.write(
      `GET /task round ${r + 1}: bare ${fmt(bareRuns[r]!.rps)} req/s, instance a ${fmt(productRuns[r]!.rps)} req/s\n`,
    );
  }
  await bare.stop();
  const ratio = median(productRuns.map((p, i) => p.rps / bareRuns[i]!.rps));
  const cpuRatio = median(productRuns.map((p, i) => p.cpuRps / bareRuns[i]!.cpuRps));

  // kill -9 of the busiest owner.
  const view = (await getJson<ClusterView>(first!.pool, '/cluster')).result;
  const owned = new Map(view.instances.map((i) => [i.id, i.apps]));
  const victimId = [...owned].sort((x, y) => y[1] - x[1])[0]![0];
  const victim = nodes.find((node) => node.id === victimId)!;
  const survivors = nodes.filter((node) => node !== victim);
  const leaseKeys = Array.from({ length: SLOT_COUNT }, (_, slot) => clusterKeys('wechat-scheduler:').lease(slot));
  // Slots nobody leases (no app hashes into them) are left out.
  const leased = (await rc.mGet(leaseKeys)).flatMap((v, slot) => (v === null ? [] : [slot]));
  const callsBefore = await simCalls(sim);
  await victim.pool.close();
  await victim.proc.kill9();
  const killedAt = Date.now();
  process.stderr.write(`killed ${victimId} (owned ${owned.get(victimId)} apps); waiting for takeover…\n`);
  // Taken over, as Redis says: every slot's lease is held by a survivor (the lease keys, read every 100 ms) …
  const leasesS = await waitUntil(
    'the survivors to hold every lease',
    async () => {
      const values = await rc.mGet(leased.map((slot) => leaseKeys[slot]!));
      return values.every((v) => v !== null && !v.startsWith(`${victimId}|`));
    },
    opt.leaseMs / 1000 + 300,
    100,
  );
  // … and as the instances say: each survivor's GET /cluster no longer lists the victim and the survivors' apps add up to N.
  const failoverS =
    (Date.now() - killedAt) / 1000 +
    (await waitUntil(
      'the survivors to own every app',
      async () => {
        for (const node of survivors) {
          const c = (await getJson<ClusterView>(node.pool, '/cluster')).result;
          if (c.instances.some((i) => i.id === victimId)) return false;
          if (c.instances.reduce((sum, i) => sum + i.apps, 0) !== n) return false;
        }
        return true;
      },
      opt.leaseMs / 1000 + 300,
      100,
    ));
  // Independent check by GET /apps: no app names the victim or nobody as its owner (sampled pages).
  const stale = await ownersNamed(survivors[0]!.pool, victimId);
  // The new owners have loaded the victim's apps and set their timers by now: any call would be a refetch
  // (expires_in ≫ the window: no refresh is due).
  await sleep(opt.afterKill * 1000);
  const refetches = (await simCalls(sim)).total - callsBefore.total;
  const windowS = (Date.now() - killedAt) / 1000;
  const rssAfter = survivors.map((node) => `${node.id} ${fmt(rssMb(tree(node.proc.pid)))}`).join(', ');

  for (const node of survivors) {
    await node.pool.close();
    await node.proc.stop();
  }
  await sim.stop();
  await rc.close();
  await redis.stop();

  console.log(
    `\ncluster — ${IDS.length} instances × ${opt.workers} shard thread(s), one Redis (AOF, appendfsync always), lease ${opt.leaseMs} ms, ` +
      `${opt.concurrency} registration connections per instance (wrk), simulator expires_in ${opt.expires} s`,
  );
  console.log(
    `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load avg ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, node ${process.version}\n`,
  );
  const rows: Array<[string, string, string?]> = [
    ['tasks (type-0 apps)', String(n)],
    ['registrations/s (three instances at once)', fmt(n / regSeconds)],
    ['registrations/s per instance', loads.map((l, k) => `${IDS[k]} ${fmt(l.perS)}`).join(', ')],
    ['registration p99 ms per instance', loads.map((l, k) => `${IDS[k]} ${fmt(l.p99Ms, 1)}`).join(', ')],
    ['registrations per server CPU s (3 trees)', fmt(n / Math.max(0.01, regCpuS))],
    ['Redis CPU s during registration', fmt(regRedisCpuS, 1)],
    ['s until every instance lists every app', fmt(regSeconds + listedS, 1)],
    ['s until every instance has every value', fmt(fetchedS, 1)],
    ['WeChat calls by then: all, token', `${callsAtFetched.total}, ${callsAtFetched.token}`, `${n}, ${n}`],
    ['apps fetched more than once by then', String(callsAtFetched.twice), '= 0'],
    ['CPU s (3 server trees, until all fetched)', fmt(cpuS, 1)],
    [
      'RSS MB per instance tree, all fetched',
      nodes.map((node, k) => `${node.id} ${fmt(rss[k]!)}`).join(', '),
      '≤ 1024 each',
    ],
    ['RSS MB per instance tree, peak', nodes.map((node, k) => `${node.id} ${fmt(peak[k]!)}`).join(', ')],
    ['Redis used_memory MB', fmt(redisUsed), '≤ 1024'],
    ['Redis used_memory_rss MB (peak RSS)', `${fmt(redisRss)} (${fmt(redisPeak)})`, '≤ 1024'],
    ['Redis bytes per task', fmt((redisUsed * 1e6) / n)],
    ['Redis keys', String(redisKeys)],
    ['GET /task bare node:http req/s (median)', fmt(median(bareRuns.map((r) => r.rps)))],
    ['GET /task instance a req/s (median)', fmt(median(productRuns.map((r) => r.rps)))],
    ['GET /task instance a / bare, req/s', fmt(ratio, 2), '≥ 0.80'],
    ['GET /task instance a / bare, CPU req/s', fmt(cpuRatio, 2)],
    [
      'GET /task p99 ms bare / instance a',
      `${fmt(median(bareRuns.map((r) => r.p99Ms)), 2)} / ${fmt(median(productRuns.map((r) => r.p99Ms)), 2)}`,
    ],
    ['GET /task errors (all rounds)', String([...bareRuns, ...productRuns].reduce((s, r) => s + r.errors, 0)), '= 0'],
    ['killed (kill -9): instance, apps owned', `${victimId}, ${owned.get(victimId)}`],
    ['failover s: survivors hold every lease (Redis)', fmt(leasesS, 2), `≤ ${opt.leaseMs / 1000 + 5}`],
    ['failover s: survivors own every app (GET /cluster)', fmt(failoverS, 2), `≤ ${opt.leaseMs / 1000 + 5}`],
    ['apps still naming the victim or no owner (GET /apps, sampled)', String(stale), '= 0'],
    [`WeChat calls in the ${fmt(windowS)} s after the kill (refetches)`, String(refetches), '= 0'],
    ['RSS MB of survivors after failover', rssAfter],
  ];
  console.log(
    table(
      ['figure', 'value', 'target'],
      rows.map(([a, b, c]) => [a, b, c ?? '']),
    ),
  );
}

/** Apps whose owner is `victim` or null, on up to 50 pages of 1000 spread over the appid space. */
async function ownersNamed(pool: Pool, victim: string): Promise<number> {
  let bad = 0;
  const starts = IDS.flatMap((id) => Array.from({ length: 17 }, (_, k) => appid(id, Math.floor((k * opt.tasks) / 51))));
  for (const after of starts) {
    const page = await getJson<{ apps: Array<{ tasks: Array<{ owner?: string | null }> }> }>(
      pool,
      `/apps?limit=1000&after=${after}`,
    );
    for (const a of page.result.apps) if (a.tasks.some((t) => t.owner === victim || t.owner == null)) bad++;
  }
  return bad;
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
