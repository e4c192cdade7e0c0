// The Redis store at scale, in-process, beside the SQLite store in the same
// run: N apps of one task each (values unexpired) written through each store,
// then everything read back the way an instance starts (loadSlots of every
// slot) and the way the change feed reads (tasksOf of 1000 apps). Prints
// writes/s, load time and its ratio to SQLite, and Redis' memory.
//
//   node --import tsx bench/redis-store.ts [--tasks 1000000]
import { validateRegistration } from '../lib/contract/registration.js';
import { RedisStore } from '../lib/store/redis-store.js';
import { secretCodec } from '../lib/store/secret-codec.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import { Store } from '../lib/store/store.js';
import { SLOT_COUNT } from '../lib/util/shard-of.js';
import { startRedis } from '../test/helpers/redis.js';
import { state } from '../test/helpers/store-conformance.js';
import { fmt, flags, table } from './lib/args.js';
import { tempDir } from './lib/procs.js';

const opt = flags({ tasks: 1_000_000 });
const ALL = Array.from({ length: SLOT_COUNT }, (_, i) => i);
const appid = (i: number) => `wxapp${String(i).padStart(10, '0')}`;

async function fill(store: Store, n: number): Promise<number> {
  const now = Date.now();
  const t0 = performance.now();
  let writes: Array<Promise<unknown>> = [];
  for (let i = 0; i < n; i++) {
    const a = appid(i);
    writes.push(
      store
        .register(validateRegistration({ appid: a, appsecret: `secret-${i}`, tasks: [{ type: 0 }] }), now)
        .then(() => store.saveState({ appid: a, type: 0, sub: '' }, state(`AT_${String(i).padStart(130, '0')}`))),
    );
    if (writes.length >= 1000) {
      await Promise.all(writes);
      writes = [];
    }
  }
  await Promise.all(writes);
  return (2 * n) / ((performance.now() - t0) / 1000);
}

async function timed<T>(body: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await body();
  return [r, performance.now() - t0];
}

const redis = await startRedis();
try {
  const secrets = secretCodec(undefined);
  const rs = await RedisStore.open({ url: redis.url, display: redis.url, prefix: 'bench:', secrets });
  const sq = new SqliteStore(tempDir(), secrets);
  const rows: Array<Array<string | number>> = [];
  for (const [name, store] of [
    ['sqlite', sq],
    ['redis', rs],
  ] as const) {
    const wps = await fill(store, opt.tasks);
    const [apps, loadMs] = await timed(() => store.loadSlots(ALL));
    if (apps.length !== opt.tasks) throw new Error(`${name}: loaded ${apps.length} apps, wrote ${opt.tasks}`);
    const some = Array.from({ length: 1000 }, (_, i) => appid((i * 7919) % opt.tasks));
    const [, feedMs] = await timed(() =>
      store instanceof RedisStore
        ? store.tasksOf(some).then((m) => m.size)
        : Promise.all(some.map((a) => store.getApp(a))).then((l) => l.length),
    );
    rows.push([name, fmt(wps), fmt(loadMs), fmt(feedMs, 1)]);
  }
  const c = await redis.client();
  const info = await c.info('memory');
  await c.close();
  const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
  console.log(`${opt.tasks} apps of one task each, values of 133 characters`);
  console.log(table(['store', 'writes/s', 'load all (ms)', '1000 apps (ms)'], rows));
  const [sqRow, rsRow] = rows;
  console.log(`redis load / sqlite load: ${fmt(Number(rsRow![2]) / Number(sqRow![2]), 2)} ×`);
  console.log(`redis used_memory: ${fmt(used / 2 ** 20)} MiB (${fmt(used / opt.tasks)} bytes per task)`);
  await rs.close();
  sq.close();
} finally {
  await redis.stop();
}
