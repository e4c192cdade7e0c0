// What every Store backend must do, as one suite any backend is run through:
// storeConformance('sqlite', open) for the embedded file, and the same call
// for another backend. Only the Store interface is used, so the suite says
// what the rest of the server relies on and nothing about SQL or keys.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { validateRegistration, ValidRegistration } from '../../lib/contract/registration.js';
import { TaskKey, TaskType } from '../../lib/contract/task-type.js';
import { SLOT_COUNT, shardOf, slotOf } from '../../lib/util/shard-of.js';
import { newApp } from '../../lib/store/new-app.js';
import { TaskStateUpdate } from '../../lib/store/rows.js';
import { Store } from '../../lib/store/store.js';

export interface Backend {
  /** A new, empty store. */
  open(): Promise<Store>;
  /** The same data opened again (a restart); must see everything written before. */
  reopen(store: Store): Promise<Store>;
}

const reg = (appid: string, secret = 's', tasks: unknown[] = [{ type: 0 }]): ValidRegistration =>
  validateRegistration({ appid, appsecret: secret, tasks });
const key = (appid: string, type: TaskType = TaskType.AccessToken, sub = ''): TaskKey => ({ appid, type, sub });

/** A fetched state as an owner writes it: a fresh value, with any field overridden. */
export function state(value: string, over: Partial<TaskStateUpdate> = {}): TaskStateUpdate {
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
    fetchCount: 1,
    failCount: 0,
    ...over,
  };
}

export function storeConformance(name: string, backend: Backend): void {
  const t = suite<{ store: Store }>(`Store conformance: ${name}`, { store: undefined as unknown as Store });
  t.before.each(async (ctx) => {
    ctx.store = await backend.open();
  });
  t.after.each(async (ctx) => {
    await ctx.store.close();
  });

  t('an unknown app reads as undefined; deletes of unknowns report false', async ({ store }) => {
    assert.is(await store.getApp('wxnone'), undefined);
    assert.is(await store.deleteApp('wxnone'), false);
    assert.is(await store.deleteTask(key('wxnone')), false);
    assert.is(await store.hasTask('wxnone', TaskType.AccessToken), false);
  });

  t('a registration that creates an app stores exactly newApp(), plain secret included', async ({ store }) => {
    const now = Date.now();
    const regs = [
      reg('wxc0', 'secret-0'),
      reg('wxc1', 'secret-1', [
        { type: 0, stable: true, notify: 'http://biz/n' },
        { type: 1, params: 'http://biz/p' },
      ]),
      reg('wxc2', 'secret-2', [
        { type: 4, authorizer_appid: 'wxz', params: { authorizer_refresh_token: 'rt-z' } },
        { type: 2, openid: 'o-b', params: { refresh_token: 'rt-b' } },
        { type: 3, params: { component_verify_ticket: 'ticket-1' } },
      ]),
    ];
    assert.equal(await Promise.all(regs.map((r) => store.register(r, now))), [true, true, true]);
    for (const r of regs) assert.equal(await store.getApp(r.appid), newApp(r, now), r.appid);
    assert.is(await store.register(reg('wxc0', 'secret-0'), now), false, 'registering again creates nothing');
  });

  t(
    're-registering keeps tasks not named and bumps the secret generation only when the secret changes',
    async ({ store }) => {
      await store.register(reg('wxre', 'one', [{ type: 0 }, { type: 1 }]), Date.now());
      const first = (await store.getApp('wxre'))!;
      await store.register(reg('wxre', 'one', [{ type: 0, notify: 'http://biz/n' }]), Date.now());
      const same = (await store.getApp('wxre'))!;
      assert.is(same.app.secretGen, first.app.secretGen);
      assert.equal(
        same.tasks.map((x) => x.type),
        [0, 1],
      );
      assert.is(same.tasks[0]!.notify, 'http://biz/n');
      assert.is(same.tasks[0]!.regGen, first.tasks[0]!.regGen + 1, 'a registration naming the task moves its regGen');
      assert.is(same.tasks[1]!.regGen, first.tasks[1]!.regGen, 'one not named keeps it');
      await store.register(reg('wxre', 'two'), Date.now());
      const changed = (await store.getApp('wxre'))!;
      assert.is(changed.app.secretGen, first.app.secretGen + 1);
      assert.is(changed.app.secret, 'two');
    },
  );

  t(
    'state writes round-trip; a write without refreshToken keeps the kept one; a deleted task ignores them',
    async ({ store }) => {
      const k = key('wxst', TaskType.OAuthToken, 'o1');
      await store.register(
        reg('wxst', 's', [{ type: 2, openid: 'o1', params: { refresh_token: 'rt-1' } }]),
        Date.now(),
      );
      assert.ok(await store.keptRefreshToken('wxst', 'o1'));
      await store.saveState(k, state('OAT_1'));
      let row = (await store.getApp('wxst'))!.tasks[0]!;
      assert.is(row.value, 'OAT_1');
      assert.is(row.refreshToken, 'rt-1', 'kept');
      assert.is(row.state, 'ready');
      await store.saveState(k, state('OAT_2', { refreshToken: 'rt-2', fetchCount: 2 }));
      row = (await store.getApp('wxst'))!.tasks[0]!;
      assert.is(row.refreshToken, 'rt-2');
      assert.is(row.fetchCount, 2);
      // A re-registration without a token keeps the one WeChat rotated to.
      await store.register(reg('wxst', 's', [{ type: 2, openid: 'o1', params: 'http://biz/p' }]), Date.now());
      assert.is((await store.getApp('wxst'))!.tasks[0]!.refreshToken, 'rt-2');
      await store.saveState(k, state('OAT_3', { refreshToken: null }));
      assert.not.ok(await store.keptRefreshToken('wxst', 'o1'));
      assert.ok(await store.deleteTask(k));
      await store.saveState(k, state('OAT_late'));
      assert.is(await store.getApp('wxst'), undefined, 'a late write does not bring a deleted task back');
    },
  );

  t('deleting the last task deletes the app; deleting the app deletes its tasks', async ({ store }) => {
    await store.register(reg('wxdel', 's', [{ type: 0 }, { type: 1 }]), Date.now());
    assert.ok(await store.deleteTask(key('wxdel', TaskType.JsapiTicket)));
    assert.equal(
      (await store.getApp('wxdel'))!.tasks.map((x) => x.type),
      [0],
    );
    assert.ok(await store.deleteTask(key('wxdel')));
    assert.is(await store.getApp('wxdel'), undefined);
    await store.register(reg('wxdel2', 's', [{ type: 0 }, { type: 1 }]), Date.now());
    assert.ok(await store.deleteApp('wxdel2'));
    assert.is(await store.getApp('wxdel2'), undefined);
    assert.is((await store.allTasks()).filter((x) => x.appid === 'wxdel2').length, 0);
    // Registered anew after a delete: a new app, from a clean state.
    await store.register(reg('wxdel2', 's'), Date.now());
    assert.is((await store.getApp('wxdel2'))!.tasks[0]!.value, null);
  });

  t('verify tickets: kept from an inline registration and from saveVerifyTicket', async ({ store }) => {
    const at = Date.now();
    await store.register(reg('wxtk', 's', [{ type: 3, params: { component_verify_ticket: 't1' } }]), at);
    assert.is((await store.getApp('wxtk'))!.app.verifyTicket, 't1');
    await store.saveVerifyTicket('wxtk', 't2', at + 5);
    const app = (await store.getApp('wxtk'))!.app;
    assert.is(app.verifyTicket, 't2');
    assert.is(app.verifyTicketAt, at + 5);
  });

  t('loadShard: every app in exactly one shard, with its tasks; allTasks and hasTask agree', async ({ store }) => {
    const appids = Array.from({ length: 40 }, (_, i) => `wxsh${i}`);
    await Promise.all(appids.map((a) => store.register(reg(a, 's', [{ type: 0 }, { type: 1 }]), Date.now())));
    const count = 3;
    const seen: string[] = [];
    for (let i = 0; i < count; i++) {
      for (const s of await store.loadShard(i, count)) {
        assert.is(shardOf(s.app.appid, count), i);
        assert.is(s.tasks.length, 2);
        seen.push(s.app.appid);
      }
    }
    assert.equal(seen.sort(), [...appids].sort());
    assert.is((await store.allTasks()).length, 80);
    assert.ok(await store.hasTask('wxsh7', TaskType.JsapiTicket));
    assert.not.ok(await store.hasTask('wxsh7', TaskType.OAuthToken));
  });

  t('loadSlots: exactly the apps of the slots asked for, with their tasks', async ({ store }) => {
    const appids = Array.from({ length: 60 }, (_, i) => `wxsl${i}`);
    await Promise.all(appids.map((a) => store.register(reg(a, `s-${a}`, [{ type: 0 }, { type: 1 }]), Date.now())));
    const slots = [...new Set(appids.map(slotOf))];
    const asked = slots.filter((_, i) => i % 2 === 0);
    const got = await store.loadSlots(asked);
    const expected = appids.filter((a) => asked.includes(slotOf(a))).sort();
    assert.ok(expected.length > 0 && expected.length < appids.length, 'the test asks for some slots, not all');
    assert.equal(got.map((s) => s.app.appid).sort(), expected);
    for (const s of got) {
      assert.equal(s, await store.getApp(s.app.appid), s.app.appid);
      assert.is(s.app.secret, `s-${s.app.appid}`);
    }
    const all = await store.loadSlots(Array.from({ length: SLOT_COUNT }, (_, i) => i));
    assert.is(all.length, appids.length);
    assert.equal(await store.loadSlots([]), []);
  });

  t('importApp replaces an app exactly, state and kept tokens included; twice is the same', async ({ store }) => {
    const now = Date.now();
    await store.register(
      reg('wxim', 'old', [{ type: 0 }, { type: 2, openid: 'o1', params: { refresh_token: 'rt-old' } }]),
      now,
    );
    const source = newApp(
      reg('wxim', 'new-secret', [
        { type: 3, params: { component_verify_ticket: 'tk' } },
        { type: 4, authorizer_appid: 'wxa', params: { authorizer_refresh_token: 'rt-a' }, notify: 'http://biz/n' },
      ]),
      now,
    );
    source.app.secretGen = 7;
    source.app.verifyTicketAt = now - 1000;
    source.tasks[0] = { ...source.tasks[0]!, ...state('CAT_1', { expiresAt: now - 5, fetchCount: 9 }), regGen: 3 };
    source.tasks[1] = { ...source.tasks[1]!, ...state('AAT_1', { state: 'failing', lastError: 'x', failCount: 2 }) };
    source.tasks[1].authorizerAppid = 'wxa';
    source.tasks[1].refreshToken = 'rt-a2';
    await store.importApp(source);
    assert.equal(await store.getApp('wxim'), source, 'exactly as given, the old tasks gone');
    await store.importApp(source);
    assert.equal(await store.getApp('wxim'), source, 'twice is the same');
    assert.ok(await store.hasTask('wxim', TaskType.AuthorizerToken));
    assert.not.ok(await store.hasTask('wxim', TaskType.AccessToken));
    assert.is((await store.allTasks()).filter((x) => x.appid === 'wxim').length, 2);
    // Registered again afterwards: the usual upsert rules apply on top of the imported app.
    await store.register(reg('wxim', 'new-secret', [{ type: 3, params: 'http://biz/p' }]), now);
    const after = (await store.getApp('wxim'))!;
    assert.is(after.app.secretGen, 7);
    assert.is(after.tasks[0]!.regGen, 4);
    assert.is(after.tasks[0]!.value, 'CAT_1');
  });

  t('concurrent writes all land, and everything survives a reopen', async (ctx) => {
    const store = ctx.store;
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.register(reg(`wxcc${i}`), Date.now())));
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.saveState(key(`wxcc${i}`), state(`AT_${i}`))));
    ctx.store = await backend.reopen(store);
    for (const i of [0, 42, 99]) assert.is((await ctx.store.getApp(`wxcc${i}`))!.tasks[0]!.value, `AT_${i}`);
    assert.is((await ctx.store.loadShard(0, 1)).length, 100);
  });

  t.run();
}
