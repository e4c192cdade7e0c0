// The embedded store on disk, beyond what every backend does
// (test/helpers/store-conformance.ts): group commit, and one bad write in a
// batch failing alone.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateRegistration } from '../lib/contract/registration.js';
import { TaskType } from '../lib/contract/task-type.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import { at, must } from './helpers/must.js';
import { stopAll, tempDir } from './helpers/server.js';

test.after(() => stopAll());

const reg = (appid: string, secret = 's', tasks: unknown[] = [{ type: 0 }]) =>
  validateRegistration({ appid, appsecret: secret, tasks });

test('200 concurrent registrations share a handful of transactions, and all survive a reopen', async () => {
  const dir = join(tempDir(), 'd');
  const store = new SqliteStore(dir);
  const before = store.commits;
  await Promise.all(Array.from({ length: 200 }, (_, i) => store.register(reg(`wxg${i}`), Date.now())));
  const used = store.commits - before;
  assert.ok(used >= 1 && used <= 3, `expected group commit, got ${used} transactions for 200 registrations`);
  store.close();
  const again = new SqliteStore(dir);
  assert.is((await again.loadShard(0, 1)).length, 200);
  assert.ok(await again.hasTask('wxg199', TaskType.AccessToken));
  again.close();
});

test('one bad write in a batch rejects only its own caller; the others commit', async () => {
  const dir = join(tempDir(), 'd');
  const store = new SqliteStore(dir);
  await store.register(reg('wxok'), Date.now());
  const key = { appid: 'wxok', type: TaskType.AccessToken, sub: '' };
  const state = (value: string) => ({
    value,
    expiresAt: Date.now() + 1000,
    expiresIn: 1,
    refreshedAt: Date.now(),
    fetchedSecretGen: 1,
    authorizerAppid: null,
    state: 'ready' as const,
    lastError: null,
    nextRefreshAt: null,
    fetchCount: 1,
    failCount: 0,
  });
  const before = store.commits;
  // Issued in one turn of the event loop, so one transaction; the middle one cannot be bound
  // (a value SQLite has no type for), as a corrupt update from a caller would be.
  const [registered, bad, saved] = await Promise.allSettled([
    store.register(reg('wxok2'), Date.now()),
    store.saveState(key, state({ not: 'a string' } as unknown as string)),
    store.saveState(key, state('v')),
  ]);
  assert.is(store.commits - before, 1, 'one transaction for the batch');
  assert.is(registered.status, 'fulfilled');
  assert.is(bad.status, 'rejected');
  assert.is(saved.status, 'fulfilled');
  store.close();
  // Durable: what the other callers were told is on disk.
  const again = new SqliteStore(dir);
  assert.is(at(must(await again.getApp('wxok'), 'app wxok').tasks, 0).value, 'v');
  assert.ok(await again.getApp('wxok2'));
  again.close();
});

test.run();
