// The front's task cache answers the lookups of GET /task (docs/api.md §5) the
// same whether an app holds one task or several, as tasks come and go: 404 for
// a task not registered, 400 for an ambiguous authorizer, the value once it
// arrives. The cache keeps a one-task app in a lighter form than a many-task
// one, so these transitions are where a lookup could go wrong. Real
// SqliteStore in a temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateRegistration } from '../lib/contract/registration.js';
import { TaskType } from '../lib/contract/task-type.js';
import { TaskCache } from '../lib/front/task-cache.js';
import { newApp } from '../lib/store/new-app.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'ws-cache-'));
const store = new SqliteStore(join(dir, 'data'));
test.after(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The tasks of a registration as their owner answers them: pending, no value yet. */
const pendingTasks = (body: unknown) => newApp(validateRegistration(body), Date.now()).tasks;

const update = (appid: string, type: TaskType, sub: string, value: string) => ({
  appid,
  type,
  sub,
  value,
  expiresAt: Date.now() + 60_000,
  state: 'ready' as const,
  lastError: null,
  refreshedAt: Date.now(),
  nextRefreshAt: Date.now() + 50_000,
  authorizerAppid: type === 4 ? sub : null,
  fetchCount: 1,
  failCount: 0,
});

test('one-task app, then a second task, then back to one: every lookup answers as before', () => {
  const cache = new TaskCache(store);
  cache.registered(pendingTasks({ appid: 'wxone', appsecret: 's', tasks: [{ type: 0 }] }));
  assert.is(cache.find('wxone', 0, {}).ok, true);
  const noType1 = cache.find('wxone', 1, {});
  assert.is(noType1.ok, false);
  if (!noType1.ok) assert.is(noType1.error.status, 404);
  cache.apply(update('wxone', 0, '', 'AT_1'));
  const found = cache.find('wxone', 0, {});
  assert.ok(found.ok && found.task.value === 'AT_1');
  const served = found.ok ? TaskCache.servable(found.task, Date.now()) : null;
  assert.ok(served?.ok && served.body.toString() === '{"code":200,"message":"","result":"AT_1"}');

  cache.registered(
    pendingTasks({ appid: 'wxone', appsecret: 's', tasks: [{ type: 1, params: { access_token: 'x' } }] }),
  );
  assert.is(cache.tasksOf('wxone').length, 2);
  const still = cache.find('wxone', 0, {});
  assert.ok(still.ok && still.task.value === 'AT_1', 'the first task survives becoming a multi-task app');
  cache.remove({ appid: 'wxone', type: 1, sub: '' });
  assert.is(cache.tasksOf('wxone').length, 1);
  cache.remove({ appid: 'wxone', type: 0, sub: '' });
  assert.is(cache.hasApp('wxone'), false);
  const gone = cache.find('wxone', 0, {});
  assert.ok(!gone.ok && gone.error.status === 404);
});

test('authorizers: selection by authorizer_appid, ambiguity without it, single authorizer by either key', () => {
  const cache = new TaskCache(store);
  cache.registered(
    pendingTasks({
      appid: 'wxcomp',
      appsecret: 's',
      tasks: [{ type: 4, authorizer_appid: 'wxa1', params: { authorizer_refresh_token: 'r' } }],
    }),
  );
  cache.apply(update('wxcomp', 4, 'wxa1', 'AAT_1'));
  const only = cache.find('wxcomp', 4, {});
  assert.ok(only.ok && only.task.value === 'AAT_1');
  const byId = cache.find('wxcomp', 4, { authorizer_appid: 'wxa1' });
  assert.ok(byId.ok && byId.task.value === 'AAT_1');
  const other = cache.find('wxcomp', 4, { authorizer_appid: 'wxa2' });
  assert.ok(!other.ok && other.error.status === 404);

  cache.registered(
    pendingTasks({
      appid: 'wxcomp',
      appsecret: 's',
      tasks: [{ type: 4, authorizer_appid: 'wxa2', params: { authorizer_refresh_token: 'r' } }],
    }),
  );
  cache.apply(update('wxcomp', 4, 'wxa2', 'AAT_2'));
  const ambiguous = cache.find('wxcomp', 4, {});
  assert.ok(!ambiguous.ok && ambiguous.error.status === 400);
  const second = cache.find('wxcomp', 4, { authorizer_appid: 'wxa2' });
  assert.ok(second.ok && second.task.value === 'AAT_2');
  // The walk /metrics and GET /apps?state= count with sees both authorizers.
  const seen: string[] = [];
  cache.forEachTask((t) => seen.push(`${t.sub} ${t.state}`));
  assert.equal(seen.sort(), ['wxa1 ready', 'wxa2 ready']);
});

// A registration's answer and the owner's updates come on different channels
// (the command's reply, the shard's event port), in either order: `seq` says
// which picture of a task is the later one.
const answered = (appid: string, seq: number) =>
  pendingTasks({ appid, appsecret: 's', tasks: [{ type: 0 }] }).map((t) => ({ ...t, seq }));

test("an owner's update that overtakes the registration's answer is kept, not lost", () => {
  const cache = new TaskCache(store);
  // The value came before the answer the owner had sent earlier: the task is not cached yet.
  cache.apply({ ...update('wxearly', 0, '', 'AT_early'), seq: 11 });
  cache.registered(answered('wxearly', 10));
  const found = cache.find('wxearly', 0, {});
  assert.ok(found.ok);
  if (found.ok) assert.is(found.task.value, 'AT_early', 'the fetched value was dropped for the older answer');
});

test('an update older than the cached picture is ignored', () => {
  const cache = new TaskCache(store);
  cache.registered(answered('wxorder', 10));
  cache.apply({ ...update('wxorder', 0, '', 'AT_new'), seq: 20 });
  cache.apply({ ...update('wxorder', 0, '', 'AT_old'), seq: 15 });
  const found = cache.find('wxorder', 0, {});
  assert.ok(found.ok);
  if (found.ok) assert.is(found.task.value, 'AT_new');
});

test("a removed task's late update does not become the value of its re-registration", () => {
  const cache = new TaskCache(store);
  cache.registered(answered('wxgone', 10));
  cache.apply({ ...update('wxgone', 0, '', 'AT_1'), seq: 11 });
  cache.removeApp('wxgone');
  // Sent by the owner before it handled the delete, arrived after the delete's answer.
  cache.apply({ ...update('wxgone', 0, '', 'AT_late'), seq: 12 });
  cache.registered(answered('wxgone', 30));
  const found = cache.find('wxgone', 0, {});
  assert.ok(found.ok);
  if (found.ok) assert.is(found.task.value, null);
});

test.run();
