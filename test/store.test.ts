// The embedded store on disk: group commit, re-registration semantics, and
// nothing lost across a reopen.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateRegistration } from '../lib/contract/registration.js';
import { TaskType } from '../lib/contract/task-type.js';
import { newApp } from '../lib/store/new-app.js';
import { secretCodec } from '../lib/store/secret-codec.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import { stopAll, tempDir } from './helpers/server.js';

test.after(() => stopAll());

const reg = (appid: string, secret = 's', tasks: unknown[] = [{ type: 0 }]) => validateRegistration({ appid, appsecret: secret, tasks });

test('200 concurrent registrations share a handful of transactions, and all survive a reopen', async () => {
  const dir = join(tempDir(), 'd');
  const store = new SqliteStore(dir);
  const before = store.commits;
  await Promise.all(Array.from({ length: 200 }, (_, i) => store.register(reg(`wxg${i}`), Date.now())));
  const used = store.commits - before;
  assert.ok(used >= 1 && used <= 3, `expected group commit, got ${used} transactions for 200 registrations`);
  store.close();
  const again = new SqliteStore(dir);
  assert.is(again.appids().length, 200);
  assert.ok(again.hasTask('wxg199', TaskType.AccessToken));
  again.close();
});

test('one bad write in a batch rejects only its own caller', async () => {
  const store = new SqliteStore(join(tempDir(), 'd'));
  await store.register(reg('wxok'), Date.now());
  const results = await Promise.allSettled([
    store.register(reg('wxok2'), Date.now()),
    store.saveState({ appid: 'wxok', type: TaskType.AccessToken, sub: '' }, {
      value: 'v', expiresAt: Date.now() + 1000, expiresIn: 1, refreshedAt: Date.now(), fetchedSecretGen: 1,
      authorizerAppid: null, state: 'ready', lastError: null, nextRefreshAt: null, fetchCount: 1, failCount: 0,
    }),
  ]);
  assert.ok(results.every((r) => r.status === 'fulfilled'));
  assert.is(store.getApp('wxok')!.tasks[0].value, 'v');
  assert.ok(store.getApp('wxok2'));
  store.close();
});

test('re-registering keeps tasks not named, bumps the secret generation only when the secret changes', async () => {
  const store = new SqliteStore(join(tempDir(), 'd'));
  await store.register(reg('wxre', 'one', [{ type: 0 }, { type: 1 }]), Date.now());
  const gen1 = store.getApp('wxre')!.app.secretGen;
  await store.register(reg('wxre', 'one', [{ type: 0, notify: 'http://biz/n' }]), Date.now());
  const same = store.getApp('wxre')!;
  assert.is(same.app.secretGen, gen1, 'same secret, same generation');
  assert.equal(same.tasks.map((t) => t.type), [0, 1], 'type 1 stays registered');
  assert.is(same.tasks[0].notify, 'http://biz/n', 'the last notify wins');
  await store.register(reg('wxre', 'two'), Date.now());
  assert.is(store.getApp('wxre')!.app.secretGen, gen1 + 1);
  assert.ok(await store.deleteApp('wxre'));
  assert.not.ok(await store.deleteApp('wxre'), 'second delete reports unknown');
  assert.is(store.getApp('wxre'), undefined);
  store.close();
});

test('a registration that creates an app stores exactly newApp(), which the owner takes instead of reading it back', async () => {
  // Encrypted at rest too: getApp decodes, newApp holds the plain secret the registration carried.
  for (const store of [new SqliteStore(join(tempDir(), 'd')), new SqliteStore(join(tempDir(), 'd'), secretCodec(randomBytes(32).toString('hex')))]) {
    const regs = [
      reg('wxnew0', 'secret-0'),
      reg('wxnew1', 'secret-1', [{ type: 0, stable: true, notify: 'http://biz/n' }, { type: 1, params: 'http://biz/p' }]),
      reg('wxnew2', 'secret-2', [
        { type: 4, authorizer_appid: 'wxz', params: { authorizer_refresh_token: 'rt-z' } },
        { type: 2, openid: 'o-b', params: { refresh_token: 'rt-b' } },
        { type: 3, params: { component_verify_ticket: 'ticket-1', other: 'x' } },
        { type: 4, authorizer_appid: 'wxA', params: 'http://biz/p4' },
        { type: 2, openid: 'o-a', params: 'http://biz/p2' },
      ]),
      reg('wxnew3', 'secret-3', [{ type: 3, params: 'http://biz/p3' }]),
    ];
    const now = Date.now();
    assert.equal(await Promise.all(regs.map((r) => store.register(r, now))), [true, true, true, true], 'each created its app');
    for (const r of regs) assert.equal(newApp(r, now), store.getApp(r.appid), r.appid);
    assert.is(newApp(regs[2], now).app.verifyTicket, 'ticket-1');
    // Registering again changes an app the store already holds: the owner reads it back.
    assert.is(await store.register(reg('wxnew0', 'secret-0', [{ type: 1 }]), now), false);
    store.close();
  }
});

test.run();
