// Migration between the two stores, driven through runMigrate (the function
// the `migrate` subcommand calls): SQLite → Redis → SQLite copies every app
// exactly (secrets, generations, tickets, values — an expired one as
// expired —, refresh tokens, counters), twice gives the same, and bad
// locations are refused in one sentence.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateRegistration } from '../lib/contract/registration.js';
import { TaskType } from '../lib/contract/task-type.js';
import { runMigrate } from '../lib/store/migrate.js';
import { StoredApp, TaskStateUpdate } from '../lib/store/rows.js';
import { RedisStore } from '../lib/store/redis-store.js';
import { secretCodec } from '../lib/store/secret-codec.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import { Store } from '../lib/store/store.js';
import { StoreLocation } from '../lib/store/store-url.js';
import { SLOT_COUNT } from '../lib/util/shard-of.js';
import { tempDir } from './helpers/server.js';
import { redisMissing, RunningRedis, startRedis } from './helpers/redis.js';

const missing = redisMissing();
let redis: RunningRedis;
const key = randomBytes(32).toString('hex');
const ALL_SLOTS = Array.from({ length: SLOT_COUNT }, (_, i) => i);

function st(value: string, over: Partial<TaskStateUpdate> = {}): TaskStateUpdate {
  const now = Date.now();
  return {
    value,
    expiresAt: now + 7_200_000,
    expiresIn: 7200,
    refreshedAt: now,
    fetchedSecretGen: 1,
    authorizerAppid: null,
    state: 'ready',
    lastError: null,
    nextRefreshAt: now + 7_000_000,
    fetchCount: 3,
    failCount: 1,
    ...over,
  };
}

/** A SQLite store with apps of every kind, values fresh and expired, kept tokens and a ticket. */
async function seed(dir: string): Promise<StoredApp[]> {
  const s = new SqliteStore(dir, secretCodec(key));
  const now = Date.now();
  for (let i = 0; i < 30; i++) {
    await s.register(
      validateRegistration({ appid: `wxm${i}`, appsecret: `sec-${i}`, tasks: [{ type: 0 }, { type: 1 }] }),
      now,
    );
    await s.saveState({ appid: `wxm${i}`, type: TaskType.AccessToken, sub: '' }, st(`AT_${i}`));
  }
  await s.register(validateRegistration({ appid: 'wxm0', appsecret: 'sec-0-new', tasks: [{ type: 0 }] }), now);
  await s.saveState(
    { appid: 'wxm1', type: TaskType.AccessToken, sub: '' },
    st('AT_expired', { expiresAt: now - 60_000, state: 'failing', lastError: 'errcode 40013' }),
  );
  await s.register(
    validateRegistration({
      appid: 'wxcomp',
      appsecret: 'comp-secret',
      tasks: [
        { type: 3, params: { component_verify_ticket: 'ticket@1' } },
        { type: 4, authorizer_appid: 'wxauth', params: { authorizer_refresh_token: 'art-1' }, notify: 'http://biz/n' },
        { type: 2, openid: 'o-1', params: { refresh_token: 'rt-1' } },
      ],
    }),
    now,
  );
  await s.saveState(
    { appid: 'wxcomp', type: TaskType.AuthorizerToken, sub: 'wxauth' },
    st('AUTH_AT', { refreshToken: 'art-2', authorizerAppid: 'wxauth' }),
  );
  await s.saveVerifyTicket('wxcomp', 'ticket@2', now + 1);
  const all = await s.loadSlots(ALL_SLOTS);
  s.close();
  return all.sort((a, b) => (a.app.appid < b.app.appid ? -1 : 1));
}

async function contents(store: Store): Promise<StoredApp[]> {
  const all = await store.loadSlots(ALL_SLOTS);
  await store.close();
  return all.sort((a, b) => (a.app.appid < b.app.appid ? -1 : 1));
}

const redisAt = (): StoreLocation => ({ kind: 'redis', url: redis.url, display: redis.url });

if (missing) {
  console.log(`skipped: the migrate tests need redis-server: ${missing}`);
} else {
  test.before(async () => {
    redis = await startRedis();
  });
  test.after(() => redis.stop());

  test('SQLite → Redis → SQLite copies every app exactly, and a second run changes nothing', async () => {
    const dataDir = join(tempDir(), 'data');
    const source = await seed(dataDir);
    assert.is(source.length, 31);
    const expired = source.find((a) => a.app.appid === 'wxm1')!.tasks[0]!;
    assert.ok(expired.expiresAt! < Date.now(), 'the source holds an expired value');

    const there = { from: { kind: 'sqlite' } as const, to: redisAt(), redisPrefix: 'mig:', secretKey: key, dataDir };
    assert.equal(await runMigrate(there), { apps: 31, tasks: 63 });
    const open = () =>
      RedisStore.open({ url: redis.url, display: redis.url, prefix: 'mig:', secrets: secretCodec(key) });
    assert.equal(await contents(await open()), source, 'Redis holds exactly what SQLite held');
    const version = await (async () => {
      const s = await open();
      const v = await s.version();
      await s.close();
      return v;
    })();
    assert.equal(await runMigrate(there), { apps: 31, tasks: 63 });
    assert.equal(await contents(await open()), source, 'twice is the same');
    const s = await open();
    assert.ok((await s.version()) > version, 'the second run is announced to running instances');
    await s.close();

    const backDir = join(tempDir(), 'back');
    const back = {
      from: redisAt(),
      to: { kind: 'sqlite', dir: backDir } as const,
      redisPrefix: 'mig:',
      secretKey: key,
      dataDir,
    };
    assert.equal(await runMigrate(back), { apps: 31, tasks: 63 });
    assert.equal(await contents(new SqliteStore(backDir, secretCodec(key))), source, 'and back to SQLite, exactly');
    assert.equal(await runMigrate(back), { apps: 31, tasks: 63 });
    assert.equal(await contents(new SqliteStore(backDir, secretCodec(key))), source);
  });

  test('bad locations: a missing source directory and the same store on both sides are refused', async () => {
    const dataDir = join(tempDir(), 'nothing-here');
    const err = await runMigrate({ from: { kind: 'sqlite' }, to: redisAt(), redisPrefix: 'bad:', dataDir }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    assert.match(err!.message, `there is no store to copy from in ${dataDir}`);
    const same = await runMigrate({ from: redisAt(), to: redisAt(), redisPrefix: 'bad:', dataDir }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    assert.match(same!.message, 'are the same store');
    const c = await redis.client();
    assert.equal(await c.keys('bad:*'), [], 'nothing was written');
    await c.close();
  });

  test.run();
}
