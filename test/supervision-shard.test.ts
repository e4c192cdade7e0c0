// docs/api.md §8, a crashed worker thread is restored: a shard thread that dies
// is restarted with its apps' state from the store (no refetch of unexpired
// values, schedules kept), with back-off and a log line; apps on the other
// shard notice nothing. The crash comes from a test-only fault hook.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { shardOf } from '../lib/util/shard-of.js';
import { sleep, waitFor } from './helpers/poll.js';
import { startServer, stopAll } from './helpers/server.js';
import { must } from './helpers/must.js';
import { callsOf, Sim, startSim } from './helpers/sim.js';

let sim: Sim;
test.before(async () => {
  sim = await startSim({ expiresIn: 7200 });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

/** The first appid with this prefix that lands on `shard` of 2. */
function appidOn(shard: number, prefix: string): string {
  for (let i = 0; ; i++) if (shardOf(`${prefix}${i}`, 2) === shard) return `${prefix}${i}`;
}

type AppView = {
  appid: string;
  tasks: Array<{ type: number; next_refresh_at: string; refreshed_at: string; fetch_count: number }>;
};

test('a crashed shard is restored from the store; the other shard notices nothing', async () => {
  const crashed = appidOn(0, 'wxcrash');
  const crashedToo = appidOn(0, 'wxcrashtoo');
  const short = appidOn(0, 'wxshortlived');
  const other = appidOn(1, 'wxother');
  await sim.addApp({ appid: short, secret: 's-short', expiresIn: 5 });
  const srv = await startServer({ wechatApi: sim.url, workers: 2, env: { WECHAT_SCHEDULER_TEST_FAULTS: '1' } });
  for (const appid of [crashed, crashedToo, other]) {
    assert.is(
      (await srv.api.register({ appid, appsecret: `s-${appid}`, tasks: [{ type: 0 }, { type: 1 }] })).status,
      200,
    );
  }
  assert.is((await srv.api.register({ appid: short, appsecret: 's-short', tasks: [{ type: 0 }] })).status, 200);
  const values = new Map<string, string>();
  for (const appid of [crashed, crashedToo, other]) {
    for (const type of [0, 1])
      values.set(
        `${appid}/${type}`,
        await waitFor(`${appid}/${type}`, () => srv.api.value(appid, type).catch(() => null)),
      );
  }
  await waitFor('short-lived value', () => srv.api.value(short, 0).catch(() => null));
  const view = async (appid: string) => (await srv.api.get(`/apps/${appid}`)).body.result as AppView;
  const otherBefore = await view(other);
  const crashedBefore = await view(crashed);
  const before = await sim.stats();

  const r = await srv.api.post(`/__test/crash-shard/${crashed}`);
  assert.is(r.status, 200, r.text);
  await waitFor(
    'the shard to be restored',
    () => srv.logs().find((l) => l.msg === 'shard thread restored' && l.shard === 0),
    30_000,
  );
  const died = srv.logs().find((l) => l.msg === 'shard thread died; restoring it from the store');
  assert.ok(died, 'the death is logged');
  assert.is(died!.shard, 0);

  // The crashed shard's apps: same values, same schedule, nothing fetched again.
  for (const appid of [crashed, crashedToo, other])
    for (const type of [0, 1])
      assert.is(await srv.api.value(appid, type), values.get(`${appid}/${type}`), `${appid}/${type}`);
  assert.equal(
    (await view(crashed)).tasks.map((t) => t.next_refresh_at),
    crashedBefore.tasks.map((t) => t.next_refresh_at),
  );
  // The other shard's app: same value, same schedule, same counters.
  assert.equal(await view(other), otherBefore);
  await sleep(1_000);
  const after = await sim.stats();
  for (const appid of [crashed, crashedToo, other])
    assert.equal(callsOf(after, appid), callsOf(before, appid), `WeChat calls for ${appid}`);

  // The restored shard owns its apps again: its timers fire (a 5 s token keeps being refreshed) ...
  const shortFetches = callsOf(after, short).token;
  await waitFor(
    'the short-lived token to be refreshed twice by the restored shard',
    async () => (await sim.calls(short)).token >= shortFetches + 2,
    30_000,
    250,
  );
  await srv.api.value(short, 0);
  // ... it answers commands (a passive refresh fetches exactly once) ...
  const stale = must(values.get(`${crashed}/0`), `the value of ${crashed}/0`);
  const refreshed = await srv.api.post(`/task/${crashed}/0/refresh`, { stale });
  assert.is(refreshed.status, 200, refreshed.text);
  assert.is.not(refreshed.body.result, stale);
  assert.is((await sim.calls(crashed)).token, callsOf(before, crashed).token + 1);
  // ... and takes new registrations.
  const fresh = appidOn(0, 'wxafter');
  assert.is((await srv.api.register({ appid: fresh, appsecret: 's-fresh', tasks: [{ type: 0 }] })).status, 200);
  await waitFor('a registration on the restored shard', () => srv.api.value(fresh, 0).catch(() => null));
  assert.is(await srv.stop(), 0);
});

test('a shard that keeps crashing is restarted with a growing back-off', async () => {
  const appid = appidOn(1, 'wxbackoff');
  const srv = await startServer({ wechatApi: sim.url, workers: 2, env: { WECHAT_SCHEDULER_TEST_FAULTS: '1' } });
  assert.is((await srv.api.register({ appid, appsecret: 's-backoff', tasks: [{ type: 0 }] })).status, 200);
  const value = await waitFor('value', () => srv.api.value(appid, 0).catch(() => null));
  const restored = () => srv.logs().filter((l) => l.msg === 'shard thread restored' && l.shard === 1).length;
  for (let i = 1; i <= 3; i++) {
    await waitFor(
      `crash ${i} accepted`,
      async () => (await srv.api.post(`/__test/crash-shard/${appid}`)).status === 200,
      20_000,
      100,
    );
    await waitFor(`restore ${i}`, () => restored() >= i, 30_000);
  }
  const delays = srv
    .logs()
    .filter((l) => l.msg === 'shard thread died; restoring it from the store')
    .map((l) => l.inMs as number);
  assert.equal(delays, [200, 400, 800]);
  assert.is(await srv.api.value(appid, 0), value);
  assert.is((await sim.calls(appid)).token, 1);
  assert.is(await srv.stop(), 0);
});

test('a shard thread out of memory under its heap limit (shardHeapMb) dies alone and is restored', async () => {
  const hog = appidOn(0, 'wxhog');
  const other = appidOn(1, 'wxnothog');
  const srv = await startServer({
    wechatApi: sim.url,
    workers: 2,
    env: { WECHAT_SCHEDULER_TEST_FAULTS: '1', WECHAT_SCHEDULER_SHARD_HEAP_MB: '48' },
  });
  for (const appid of [hog, other])
    assert.is((await srv.api.register({ appid, appsecret: `s-${appid}`, tasks: [{ type: 0 }] })).status, 200);
  const values = new Map<string, string>();
  for (const appid of [hog, other])
    values.set(appid, await waitFor(appid, () => srv.api.value(appid, 0).catch(() => null)));
  const generation = srv.logs().find((l) => l.msg === 'generation started')!.pid;

  assert.is((await srv.api.post(`/__test/crash-shard/${hog}?how=oom`)).status, 200);
  await waitFor(
    'the shard to be restored',
    () => srv.logs().find((l) => l.msg === 'shard thread restored' && l.shard === 0),
    30_000,
  );
  // Piscina hands the thread's death to a command in flight when there is one, else to the pool's 'error' event.
  const failed = srv
    .logs()
    .find((l) => (l.msg === 'shard thread failed' || l.msg === 'shard command failed') && l.shard === 0);
  assert.match(String(failed?.err), /memory/i);
  // Same generation process: only the thread died.
  assert.not.ok(srv.logs().some((l) => l.msg === 'front generation died; starting a new one'));
  assert.is(
    srv
      .logs()
      .filter((l) => l.msg === 'generation started')
      .at(-1)!.pid,
    generation,
  );
  for (const appid of [hog, other]) assert.is(await srv.api.value(appid, 0), values.get(appid));
  const stats = await sim.stats();
  for (const appid of [hog, other]) assert.is(callsOf(stats, appid).token, 1, `WeChat calls for ${appid}`);
  assert.is(await srv.stop(), 0);
});

test('without WECHAT_SCHEDULER_TEST_FAULTS the fault hook does not exist', async () => {
  const srv = await startServer({ wechatApi: sim.url, workers: 1 });
  assert.is((await srv.api.register({ appid: 'wxnofault', appsecret: 's', tasks: [{ type: 0 }] })).status, 200);
  const r = await srv.api.post('/__test/crash-shard/wxnofault');
  assert.is(r.status, 404, r.text);
  assert.not.ok(srv.logs().some((l) => l.msg === 'shard thread died; restoring it from the store'));
  assert.is(await srv.stop(), 0);
});

test.run();
