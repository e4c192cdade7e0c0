// Restore benchmark: a data dir holding N tasks with unexpired values (filled
// through the product's own store), then the product started on it. Prints
// the time until it listens, until every sampled task is served, RSS per
// process, and the WeChat calls it made (must be 0: nothing is due).
// Quicker to iterate on than bench/scale.ts, which measures the same after a
// real kill -9.
//
//   node --import tsx bench/restore.ts [--tasks 100000] [--workers 2] [--authorizers 0.1]
import { cpSync, existsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { validateRegistration } from '../lib/contract/registration.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import { checkout } from './lib/checkout.js';
import { fmt, flags, table } from './lib/args.js';
import { cpuSeconds, rssMb, threadCpu, tree } from './lib/proc-stats.js';
import { sleep, startServer, startSimulator, tempDir } from './lib/procs.js';

const opt = flags({
  tasks: 100_000,
  workers: 2,
  authorizers: 0.1,
  data: '',
  before: '',
  nodeOptions: '',
  mallocArenaMax: '',
  nodeArgs: '',
});
const TOKEN = 'bench-token-0123456789abcdef';
const COMPONENT = 'wxcomponent0001';

async function fill(dataDir: string, apps: number, authorizers: number): Promise<void> {
  const store = new SqliteStore(dataDir);
  const now = Date.now();
  const ready = (i: number) => ({
    value: `AT_${String(i).padStart(40, '0')}`,
    expiresAt: now + 7_200_000,
    expiresIn: 7200,
    refreshedAt: now,
    fetchedSecretGen: 1,
    authorizerAppid: null,
    state: 'ready' as const,
    lastError: null,
    nextRefreshAt: now + 6_900_000 - (i % 60_000),
    fetchCount: 1,
    failCount: 0,
  });
  const writes: Array<Promise<unknown>> = [];
  for (let i = 0; i < apps; i++) {
    const appid = `wxapp${String(i).padStart(7, '0')}`;
    writes.push(store.register(validateRegistration({ appid, appsecret: `secret-${i}`, tasks: [{ type: 0 }] }), now));
    writes.push(store.saveState({ appid, type: 0, sub: '' }, ready(i)));
    if (writes.length > 20_000) await Promise.all(writes.splice(0));
  }
  for (let from = 0; from < authorizers; from += 999) {
    const tasks: unknown[] = from === 0 ? [{ type: 3, params: { component_verify_ticket: 'ticket' } }] : [];
    const ids: string[] = [];
    for (let i = from; i < Math.min(authorizers, from + 999); i++) {
      ids.push(`wxauth${String(i).padStart(7, '0')}`);
      tasks.push({ type: 4, authorizer_appid: ids[ids.length - 1], params: { authorizer_refresh_token: `rt-${i}` } });
    }
    await store.register(validateRegistration({ appid: COMPONENT, appsecret: 'component-secret', tasks }), now);
    if (from === 0) writes.push(store.saveState({ appid: COMPONENT, type: 3, sub: '' }, ready(-1)));
    for (const [k, id] of ids.entries())
      writes.push(
        store.saveState(
          { appid: COMPONENT, type: 4, sub: id },
          { ...ready(from + k), authorizerAppid: id, refreshToken: `rt-${from + k}` },
        ),
      );
    await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  store.close();
}

async function main(): Promise<void> {
  const authorizers = Math.round(opt.tasks * opt.authorizers);
  const apps = opt.tasks - authorizers - 1;
  // --data DIR: keep the filled data dir there and reuse it on the next run (same --tasks).
  const dataDir = opt.data || join(tempDir(), 'data');
  if (!opt.data || !existsSync(join(dataDir, 'wechat-scheduler.db'))) {
    const f0 = Date.now();
    await fill(dataDir, apps, authorizers);
    process.stderr.write(`filled ${opt.tasks} tasks in ${((Date.now() - f0) / 1000).toFixed(1)} s\n`);
  }
  const sim = await startSimulator();
  /** The most connections the server opened to WeChat since the last reset (the simulator counts them). */
  const wechatConnections = async () =>
    ((await (await fetch(`${sim.url}/__sim/stats`)).json()) as { connections: { max: number } }).connections.max;
  const sample = Array.from(
    { length: 200 },
    (_, k) => `/task/wxapp${String(Math.floor((k * apps) / 200)).padStart(7, '0')}/0`,
  );
  if (authorizers > 0)
    sample.push(`/task/${COMPONENT}/4?authorizer_appid=wxauth${String(authorizers - 1).padStart(7, '0')}`);

  /** Start `bin` on a copy of the filled data dir; time until listening and until every sampled task is served. */
  const restore = async (label: string, bin?: string) => {
    const copy = join(tempDir(), 'data');
    cpSync(dataDir, copy, { recursive: true });
    await fetch(`${sim.url}/__sim/reset`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    const t0 = Date.now();
    const server = await startServer({
      wechatApi: sim.url,
      dataDir: copy,
      token: TOKEN,
      workers: opt.workers,
      bin,
      nodeArgs: opt.nodeArgs ? opt.nodeArgs.split(' ') : undefined,
      env: {
        ...(opt.nodeOptions ? { NODE_OPTIONS: opt.nodeOptions } : {}),
        ...(opt.mallocArenaMax ? { MALLOC_ARENA_MAX: opt.mallocArenaMax } : {}),
      },
    });
    const listenS = (Date.now() - t0) / 1000;
    const pool = new Pool(server.url, { connections: 16 });
    const get = async (path: string) => {
      const r = await pool.request({ method: 'GET', path, headers: { authorization: `Bearer ${TOKEN}` } });
      await r.body.text();
      return r.statusCode;
    };
    let servedS = NaN;
    for (;;) {
      const codes = await Promise.all(sample.map(get));
      if (codes.every((c) => c === 200)) {
        servedS = (Date.now() - t0) / 1000;
        break;
      }
      if (Date.now() - t0 > 120_000)
        throw new Error(`not served after 120 s: ${codes.filter((c) => c !== 200).length} failing`);
      await sleep(20);
    }
    const pids = tree(server.pid);
    const cpuAtServed = cpuSeconds(pids);
    const threads = [...threadCpu(pids)]
      .filter(([, v]) => v >= 0.1)
      .map(([k, v]) => `${k.split(':').slice(0, 2).join(':')} ${v.toFixed(2)}`)
      .join(', ');
    process.stderr.write(`${label}: CPU s per thread at served: ${threads}\n`);
    await sleep(5000); // the shards have loaded their apps and set their timers
    const result = {
      label,
      listenS,
      servedS,
      cpuAtServed,
      cpuLoaded: cpuSeconds(pids),
      calls: await wechatConnections(),
      rss: rssMb(pids),
      perProcess: pids.map((p, i) => `${i === 0 ? 'supervisor' : 'generation'} ${fmt(rssMb([p]))}`).join(', '),
    };
    await pool.close();
    await server.stop();
    return result;
  };

  const runs = [];
  const before = opt.before ? checkout(opt.before).bin : '';
  if (before) runs.push(await restore('before', before));
  runs.push(await restore('current'));
  if (before) runs.push(await restore('before (again)', before));
  console.log(
    `\nrestore of ${opt.tasks} tasks (${apps} type-0 apps, ${authorizers} type-4 authorizers), ${opt.workers} shard threads; load avg ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    table(
      ['figure', ...runs.map((r) => r.label)],
      [
        ['s until listening', ...runs.map((r) => fmt(r.listenS, 2))],
        ['s until all sampled tasks served', ...runs.map((r) => fmt(r.servedS, 2))],
        ['CPU s used until served (tree)', ...runs.map((r) => fmt(r.cpuAtServed, 2))],
        ['CPU s used once loaded (+5 s)', ...runs.map((r) => fmt(r.cpuLoaded, 2))],
        ['WeChat connections opened (must be 0)', ...runs.map((r) => String(r.calls))],
        ['RSS MB, whole tree (+5 s)', ...runs.map((r) => fmt(r.rss))],
        ['RSS MB per process', ...runs.map((r) => r.perProcess)],
      ],
    ),
  );
  await sim.stop();
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
