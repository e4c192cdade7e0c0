// Heap per task of the two big in-memory structures, measured in-process on
// a data dir filled by bench/restore.ts (--data DIR): the front's TaskCache
// and one shard holding every app. Run with --expose-gc. With --snapshot
// PREFIX it writes heap snapshots to look at (Chrome DevTools, Memory tab).
//
//   node --import tsx bench/restore.ts --tasks 100000 --data /tmp/ws100k/data   # once, fills the dir
//   node --expose-gc --import tsx bench/memory.ts --data /tmp/ws100k/data [--snapshot /tmp/ws]
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import v8 from 'node:v8';
import { resolveConfig, shardOptions } from '../lib/config.js';
import { TaskUpdate } from '../lib/contract/messages.js';
import { TaskCache } from '../lib/front/task-cache.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import { WriteLock } from '../lib/store/write-lock.js';
import { Shard } from '../workers/shard.js';
import { fmt, flags, table } from './lib/args.js';
import { tempDir } from './lib/procs.js';

const opt = flags({ data: '', snapshot: '' });
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc || !opt.data) throw new Error('usage: node --expose-gc --import tsx bench/memory.ts --data DIR');
const dir = join(tempDir(), 'data');
cpSync(opt.data, dir, { recursive: true }); // the shard writes; keep the filled dir pristine

async function heapOf(
  label: string,
  build: () => { size: number; keep: unknown } | Promise<{ size: number; keep: unknown }>,
): Promise<Array<string | number>> {
  gc!();
  const h0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const { size, keep } = await build();
  const ms = performance.now() - t0;
  gc!();
  const bytes = process.memoryUsage().heapUsed - h0;
  if (opt.snapshot) v8.writeHeapSnapshot(`${opt.snapshot}-${label.replace(/\W+/g, '-')}.heapsnapshot`);
  if (keep === null) console.log('');
  return [label, size, fmt(ms), fmt(bytes / 1e6, 1), fmt(bytes / size)];
}

const store = new SqliteStore(dir);
const rows = [
  await heapOf('front TaskCache.warm()', async () => {
    const cache = new TaskCache(store);
    await cache.warm();
    let n = 0;
    cache.forEachTask(() => n++);
    return { size: n, keep: cache };
  }),
];
// As in life: every task's next value arrives from a shard thread through postMessage.
rows.push(
  await heapOf('front TaskCache, updated', async () => {
    const cache = new TaskCache(store);
    await cache.warm();
    const updates: TaskUpdate[] = [];
    // Built field by field as TaskActor.snapshot() does, so the objects that arrive are shaped alike.
    cache.forEachTask((t) =>
      updates.push({
        appid: t.appid,
        type: t.type,
        sub: t.sub,
        value: `${t.value ?? 'v'}-next`,
        expiresAt: t.expiresAt,
        state: t.state,
        lastError: t.lastError,
        refreshedAt: Date.now(),
        nextRefreshAt: t.nextRefreshAt,
        authorizerAppid: t.authorizerAppid,
        fetchCount: t.fetchCount + 1,
        failCount: t.failCount,
      }),
    );
    const channel = new MessageChannel();
    await new Promise<void>((resolve) => {
      let left = updates.length;
      channel.port2.on('message', (u: TaskUpdate) => {
        cache.apply(u);
        if (--left === 0) resolve();
      });
      for (const u of updates) channel.port1.postMessage(u);
    });
    const size = updates.length;
    // The listener's closure shares this function's context: drop it and the updates with it.
    channel.port2.removeAllListeners('message');
    channel.port1.close();
    updates.length = 0;
    return { size, keep: cache };
  }),
);
const { port1, port2 } = new MessageChannel();
port1.on('message', () => undefined);
port1.unref();
let shard: Shard | null = null;
const shardTasks = (await store.loadShard(0, 1)).reduce((n, a) => n + a.tasks.length, 0);
rows.push(
  await heapOf('shard (all apps, 1 of 1)', async () => {
    shard = await Shard.open(
      {
        ...shardOptions(resolveConfig({}, {})),
        shardIndex: 0,
        shardCount: 1,
        dataDir: dir,
        wechatApi: 'http://127.0.0.1:9',
        wechatTimeoutMs: 10_000,
        callbackTimeoutMs: 5_000,
        wechatConcurrency: 32,
        refreshMinIntervalMs: 10_000,
        logLevel: 'warn',
        stableToken: false,
        stableForceDailyLimit: 20,
        stableForceIntervalSeconds: 30,
        writeLock: new WriteLock().buffer,
        frontLoad: new SharedArrayBuffer(4),
        store: { kind: 'sqlite' },
        redisPrefix: 'wechat-scheduler:',
        leaseMs: 10_000,
      },
      port2,
    );
    await shard.activate();
    return { size: shardTasks, keep: shard };
  }),
);
console.log(table(['structure', 'tasks', 'load ms', 'heap MB', 'bytes/task'], rows));
await (shard as Shard | null)?.close();
store.close();
process.exit(0);
