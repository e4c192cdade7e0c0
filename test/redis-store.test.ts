// What the Redis store promises beyond the conformance suite, on a real
// redis-server: acknowledged writes survive a crash of Redis (AOF), the store
// reconnects by itself and fails fast meanwhile, fenced writes are refused
// once the slot's fence moved, no appsecret is readable in Redis with the
// secret key set, the change feed records every write, and a Redis that
// cannot be opened is reported in one sentence without its password.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RESP_TYPES } from 'redis';
import { FencedWrite, StoreUnavailable } from '../lib/contract/errors.js';
import { validateRegistration } from '../lib/contract/registration.js';
import { TaskType } from '../lib/contract/task-type.js';
import { RedisStore } from '../lib/store/redis-store.js';
import { secretCodec } from '../lib/store/secret-codec.js';
import { slotOf } from '../lib/util/shard-of.js';
import { waitFor } from './helpers/poll.js';
import { state } from './helpers/store-conformance.js';
import { freePort } from './helpers/ports.js';
import { PlainRedis, redisMissing, RunningRedis, startRedis } from './helpers/redis.js';

const missing = redisMissing();
let redis: RunningRedis;
let prefixes = 0;
/** Closed in test.after even when a test failed half-way, so this process can exit. */
const opened: Array<{ close(): Promise<void> }> = [];

const reg = (appid: string, secret = 's', tasks: unknown[] = [{ type: 0 }]) =>
  validateRegistration({ appid, appsecret: secret, tasks });

async function open(o: { prefix?: string; key?: string; fenceOf?: (appid: string) => number | null } = {}) {
  const store = await RedisStore.open({
    url: redis.url,
    display: redis.url,
    prefix: o.prefix ?? `t${++prefixes}:`,
    secrets: secretCodec(o.key),
    fenceOf: o.fenceOf,
  });
  opened.push(store);
  return store;
}

async function withClient<T>(body: (c: PlainRedis) => Promise<T>): Promise<T> {
  const c = await redis.client();
  try {
    return await body(c);
  } finally {
    await c.close();
  }
}

/** Everything Redis holds under `prefix`, as bytes: every key's DUMP and its contents read by type. */
async function everything(prefix: string): Promise<Buffer> {
  return withClient(async (plain) => {
    const c = plain.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    const parts: Buffer[] = [];
    for await (const keys of plain.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) {
      for (const k of keys) {
        parts.push(Buffer.from(k));
        const dump = await c.dump(k);
        if (dump) parts.push(dump);
        const type = await plain.type(k);
        if (type === 'hash') parts.push(Buffer.from(JSON.stringify(await plain.hGetAll(k))));
        else if (type === 'set') parts.push(Buffer.from(JSON.stringify(await plain.sMembers(k))));
        else if (type === 'zset') parts.push(Buffer.from(JSON.stringify(await plain.zRange(k, 0, -1))));
        else if (type === 'string') parts.push(Buffer.from(String(await plain.get(k))));
        else throw new Error(`unexpected key type ${type} of ${k}`);
      }
    }
    return Buffer.concat(parts);
  });
}

function aofBytes(): Buffer {
  const dir = join(redis.dir, 'appendonlydir');
  return Buffer.concat(readdirSync(dir).map((f) => readFileSync(join(dir, f))));
}

if (missing) {
  console.log(`skipped: the Redis store tests need redis-server: ${missing}`);
} else {
  test.before(async () => {
    redis = await startRedis();
  });
  test.after(async () => {
    for (const s of opened) await s.close().catch(() => undefined);
    await redis.stop();
  });

  test('fenced writes: refused once the slot fence moved, and without a fence held', async () => {
    const appid = 'wxfence';
    const fenceKey = `fen:fence:${slotOf(appid)}`;
    let held: number | null = 1;
    const store = await open({ prefix: 'fen:', fenceOf: () => held });
    await withClient((c) => c.set(fenceKey, '1'));
    await store.register(reg(appid, 's', [{ type: 0 }, { type: 3, params: 'http://biz/p' }]), Date.now());
    await store.saveState({ appid, type: TaskType.AccessToken, sub: '' }, state('AT_1'));
    await store.saveVerifyTicket(appid, 'tk-1', 1);
    // Another instance takes the slot over: its acquisition moved the fence.
    await withClient((c) => c.incr(fenceKey));
    const stale = await store.saveState({ appid, type: TaskType.AccessToken, sub: '' }, state('AT_stale')).then(
      () => null,
      (e: unknown) => e,
    );
    assert.instance(stale, FencedWrite);
    assert.is((stale as FencedWrite).code, 'fenced');
    assert.match((stale as Error).message, appid);
    const staleTicket = await store.saveVerifyTicket(appid, 'tk-stale', 2).then(
      () => null,
      (e: unknown) => e,
    );
    assert.instance(staleTicket, FencedWrite);
    let app = (await store.getApp(appid))!;
    assert.is(app.tasks[0]!.value, 'AT_1', 'the stale owner did not overwrite the value');
    assert.is(app.app.verifyTicket, 'tk-1', 'nor the ticket');
    // The new owner's fence is accepted.
    held = 2;
    await store.saveState({ appid, type: TaskType.AccessToken, sub: '' }, state('AT_2'));
    assert.is((await store.getApp(appid))!.tasks[0]!.value, 'AT_2');
    // No lease held at all: refused before Redis is asked (nothing changes, not even the version).
    held = null;
    const before = await store.version();
    const none = await store.saveState({ appid, type: TaskType.AccessToken, sub: '' }, state('AT_x')).then(
      () => null,
      (e: unknown) => e,
    );
    assert.instance(none, FencedWrite);
    assert.is(await store.version(), before);
    // Registrations and deletes are not fenced: any instance takes them.
    await store.register(reg(appid, 's2'), Date.now());
    app = (await store.getApp(appid))!;
    assert.is(app.app.secret, 's2');
    assert.ok(await store.deleteApp(appid));
    await store.close();
  });

  test('no appsecret is readable anywhere in Redis (keys, DUMP, values, AOF) with the secret key set', async () => {
    const secret = `secret-${randomBytes(12).toString('hex')}`;
    const plainSecret = `plain-${randomBytes(12).toString('hex')}`;
    const key = randomBytes(32).toString('hex');
    const enc = await open({ prefix: 'enc:', key });
    await enc.register(reg('wxenc1', secret, [{ type: 0 }, { type: 1 }]), Date.now());
    await enc.register(reg('wxenc1', secret), Date.now());
    const stored = (await enc.getApp('wxenc1'))!;
    assert.is(stored.app.secret, secret, 'read back in plain');
    await enc.importApp({ ...stored, app: { ...stored.app, appid: 'wxenc2' } });
    // The same check sees a secret stored without the key: it can fail.
    const plain = await open({ prefix: 'pln:' });
    await plain.register(reg('wxpln', plainSecret), Date.now());
    const all = await everything('');
    assert.ok(all.includes(plainSecret), 'the scan finds a plain secret');
    assert.not.ok(all.includes(secret), 'the encrypted one is nowhere in Redis');
    assert.ok(all.includes('wxenc2'), 'the scan saw the encrypted store');
    const aof = aofBytes();
    assert.ok(aof.includes(plainSecret));
    assert.not.ok(aof.includes(secret), 'nor in the append-only file');
    await enc.close();
    await plain.close();
  });

  test('the change feed: every write bumps the version and lists its app once, in order; PUBLISH tells', async () => {
    const store = await open({ prefix: 'feed:' });
    const sub = await redis.client();
    opened.push({ close: () => sub.close() });
    const heard: string[] = [];
    await sub.subscribe('feed:changes', (m) => heard.push(m));
    assert.is(await store.version(), 0);
    await store.register(reg('wxf1', 's', [{ type: 0 }, { type: 1 }]), Date.now());
    await store.register(reg('wxf2'), Date.now());
    await store.saveState({ appid: 'wxf1', type: TaskType.AccessToken, sub: '' }, state('AT'));
    assert.is(await store.version(), 3);
    assert.equal(await store.changesSince(0, 100), { appids: ['wxf2', 'wxf1'], version: 3 });
    assert.equal(await store.changesSince(0, 1), { appids: ['wxf2'], version: 2 });
    assert.equal(await store.changesSince(2, 100), { appids: ['wxf1'], version: 3 });
    assert.equal(await store.changesSince(3, 100), { appids: [], version: 3 });
    // A no-op (unknown task) announces nothing; a delete does.
    await store.saveState({ appid: 'wxnone', type: TaskType.AccessToken, sub: '' }, state('AT'));
    assert.ok(await store.deleteTask({ appid: 'wxf2', type: TaskType.AccessToken, sub: '' }));
    assert.equal(await store.changesSince(3, 100), { appids: ['wxf2'], version: 4 });
    await waitFor('four messages', () => heard.length >= 4);
    assert.equal(heard, ['wxf1', 'wxf2', 'wxf1', 'wxf2']);
    const rows = await store.tasksOf(['wxf1', 'wxf2']);
    assert.equal(
      rows.get('wxf1')!.map((r) => [r.type, r.value]),
      [
        [0, 'AT'],
        [1, null],
      ],
    );
    assert.equal(rows.get('wxf2'), [], 'a deleted app has no rows');
    assert.not.ok(JSON.stringify([...rows]).includes('"secret"'), 'no secrets in task rows');
    await sub.close();
    await store.close();
  });

  test('Redis killed: calls fail at once with a sentence, the store reconnects, every acknowledged write is back', async () => {
    const store = await open({ prefix: 'crash:' });
    const n = 50;
    await Promise.all(Array.from({ length: n }, (_, i) => store.register(reg(`wxcr${i}`), Date.now())));
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        store.saveState({ appid: `wxcr${i}`, type: TaskType.AccessToken, sub: '' }, state(`AT_${i}`)),
      ),
    );
    assert.is(store.status(), 'up');
    await redis.kill();
    await waitFor('the store to notice Redis is gone', () => store.status() === 'down');
    const err = await store.register(reg('wxlate'), Date.now()).then(
      () => null,
      (e: unknown) => e,
    );
    assert.instance(err, StoreUnavailable, 'a write while Redis is down fails (no offline queue)');
    assert.match((err as Error).message, redis.url);
    await redis.restart();
    await waitFor('the store to reconnect by itself', () => store.status() === 'up', 30_000);
    const apps = await store.loadSlots(Array.from({ length: 1024 }, (_, i) => i));
    assert.is(apps.length, n);
    for (const a of apps) assert.is(a.tasks[0]!.value, `AT_${a.app.appid.slice(4)}`);
    // The restarted Redis has no scripts cached: the store loads them again.
    await store.saveState({ appid: 'wxcr0', type: TaskType.AccessToken, sub: '' }, state('AT_after'));
    assert.is((await store.getApp('wxcr0'))!.tasks[0]!.value, 'AT_after');
    await store.close();
  });

  test('open: an unreachable Redis or a wrong password rejects with a sentence naming the URL, not the password', async () => {
    const port = await freePort();
    const unreachable = await RedisStore.open({
      url: `redis://:hunter2@127.0.0.1:${port}`,
      display: `redis://:***@127.0.0.1:${port}`,
      prefix: 'x:',
      secrets: secretCodec(undefined),
    }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    assert.instance(unreachable, Error);
    assert.match(unreachable!.message, `cannot open the store at redis://:***@127.0.0.1:${port}`);
    assert.not.match(unreachable!.message, 'hunter2');

    const guarded = await startRedis(['--requirepass', 'right-pw']);
    try {
      const wrong = await RedisStore.open({
        url: `redis://:wrong-pw@127.0.0.1:${guarded.port}`,
        display: `redis://:***@127.0.0.1:${guarded.port}`,
        prefix: 'x:',
        secrets: secretCodec(undefined),
      }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      assert.instance(wrong, Error);
      assert.match(wrong!.message, `cannot open the store at redis://:***@127.0.0.1:${guarded.port}`);
      assert.not.match(wrong!.message, 'wrong-pw');
      const right = await RedisStore.open({
        url: `redis://:right-pw@127.0.0.1:${guarded.port}`,
        display: `redis://:***@127.0.0.1:${guarded.port}`,
        prefix: 'x:',
        secrets: secretCodec(undefined),
      });
      assert.ok(await right.register(reg('wxpw'), Date.now()));
      await right.close();
    } finally {
      await guarded.stop();
    }
  });

  test.run();
}
