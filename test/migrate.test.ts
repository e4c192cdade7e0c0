// `wechat-scheduler migrate` between the two stores, through the real binary:
// SQLite → Redis → SQLite copies every app exactly (secrets, generations,
// tickets, values — an expired one as expired —, refresh tokens, counters),
// twice gives the same, and a source that is not there fails in one line
// that names it without a password.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateRegistration } from '../lib/contract/registration.js';
import { TaskType } from '../lib/contract/task-type.js';
import { StoredApp } from '../lib/store/rows.js';
import { RedisStore } from '../lib/store/redis-store.js';
import { secretCodec } from '../lib/store/secret-codec.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import { Store } from '../lib/store/store.js';
import { SLOT_COUNT } from '../lib/util/shard-of.js';
import { runToExit, tempDir } from './helpers/server.js';
import { state } from './helpers/store-conformance.js';
import { freePort } from './helpers/ports.js';
import { redisMissing, RunningRedis, startRedis } from './helpers/redis.js';

const missing = redisMissing();
let redis: RunningRedis;
const key = randomBytes(32).toString('hex');
const ALL_SLOTS = Array.from({ length: SLOT_COUNT }, (_, i) => i);

/** A SQLite store with apps of every kind, values fresh and expired, kept tokens and a ticket. */
async function seed(dir: string): Promise<StoredApp[]> {
  const s = new SqliteStore(dir, secretCodec(key));
  const now = Date.now();
  for (let i = 0; i < 30; i++) {
    await s.register(
      validateRegistration({ appid: `wxm${i}`, appsecret: `sec-${i}`, tasks: [{ type: 0 }, { type: 1 }] }),
      now,
    );
    await s.saveState({ appid: `wxm${i}`, type: TaskType.AccessToken, sub: '' }, state(`AT_${i}`));
  }
  await s.register(validateRegistration({ appid: 'wxm0', appsecret: 'sec-0-new', tasks: [{ type: 0 }] }), now);
  await s.saveState(
    { appid: 'wxm1', type: TaskType.AccessToken, sub: '' },
    state('AT_expired', { expiresAt: now - 60_000, state: 'failing', lastError: 'errcode 40013' }),
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
    state('AUTH_AT', { refreshToken: 'art-2', authorizerAppid: 'wxauth' }),
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

/** Run `wechat-scheduler migrate`; its one JSON line of counts. */
async function migrate(from: string, to: string): Promise<{ apps: number; tasks: number }> {
  const r = await runToExit(['migrate', '--from', from, '--to', to, '--redis-prefix', 'mig:'], {
    WECHAT_SCHEDULER_SECRET_KEY: key,
  });
  assert.is(r.code, 0, r.out);
  const line = JSON.parse(r.out.trim().split('\n').pop()!) as { apps: number; tasks: number };
  return { apps: line.apps, tasks: line.tasks };
}

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

    const open = () =>
      RedisStore.open({ url: redis.url, display: redis.url, prefix: 'mig:', secrets: secretCodec(key) });
    assert.equal(await migrate(`sqlite:${dataDir}`, redis.url), { apps: 31, tasks: 63 });
    assert.equal(await contents(await open()), source, 'Redis holds exactly what SQLite held');
    const s = await open();
    const version = await s.version();
    await s.close();
    assert.equal(await migrate(`sqlite:${dataDir}`, redis.url), { apps: 31, tasks: 63 });
    assert.equal(await contents(await open()), source, 'twice is the same');
    const again = await open();
    assert.ok((await again.version()) > version, 'the second run is announced to running instances');
    await again.close();

    const backDir = join(tempDir(), 'back');
    assert.equal(await migrate(redis.url, `sqlite:${backDir}`), { apps: 31, tasks: 63 });
    assert.equal(await contents(new SqliteStore(backDir, secretCodec(key))), source, 'and back to SQLite, exactly');
    assert.equal(await migrate(redis.url, `sqlite:${backDir}`), { apps: 31, tasks: 63 });
    assert.equal(await contents(new SqliteStore(backDir, secretCodec(key))), source);
  });

  test('a source that is not there: exit 1 with one line naming it, without a password, and nothing written', async () => {
    const dataDir = join(tempDir(), 'nothing-here');
    const none = await runToExit([
      'migrate',
      '--from',
      `sqlite:${dataDir}`,
      '--to',
      redis.url,
      '--redis-prefix',
      'bad:',
    ]);
    assert.is(none.code, 1, none.out);
    assert.match(none.out, `there is no store to copy from in ${dataDir}`);
    const port = await freePort();
    const gone = await runToExit([
      'migrate',
      '--from',
      `redis://:hunter2@127.0.0.1:${port}`,
      '--to',
      `sqlite:${join(tempDir(), 'to')}`,
    ]);
    assert.is(gone.code, 1, gone.out);
    assert.match(gone.out, `cannot open the store at redis://:***@127.0.0.1:${port}`);
    assert.not.match(gone.out, 'hunter2');
    assert.is(gone.out.trim().split('\n').length, 1, 'one line');
    const c = await redis.client();
    assert.equal(await c.keys('bad:*'), [], 'nothing was written');
    await c.close();
  });

  test.run();
}
