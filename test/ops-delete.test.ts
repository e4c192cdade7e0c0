// docs/api.md §5 DELETE /task/:appid/:type and DELETE /app/:appid: timers stop
// (the simulator's counters stay flat for longer than an expires_in), the
// values and the secret leave the store file, unknown things are 404, and
// every other app and task carries on.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sleep, waitFor } from './helpers/poll.js';
import { RunningServer, startServer, stopAll } from './helpers/server.js';
import { callsOf, Sim, SimStats, startSim } from './helpers/sim.js';

const EXPIRES_IN = 3;
let sim: Sim;
let srv: RunningServer;

test.before(async () => {
  sim = await startSim();
  for (const appid of ['wxdelA', 'wxdelB', 'wxdelC', 'wxdelD', 'wxdelE', 'wxdelAuth1', 'wxdelAuth2'])
    await sim.addApp({ appid, expiresIn: EXPIRES_IN });
  srv = await startServer({ wechatApi: sim.url });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

const value = (appid: string, type: number, q = '') => srv.api.awaitValue(appid, type, q);
/** Which of `needles` occur in any file of the data directory (the database, its WAL and shm). */
function inStore(dataDir: string, needles: string[]): string[] {
  const files = readdirSync(dataDir).map((f) => readFileSync(join(dataDir, f)));
  return needles.filter((n) => files.some((b) => b.includes(n)));
}

test('deleting the access_token a jsapi_ticket depends on is allowed; the ticket then says what it needs', async () => {
  await srv.api.register({ appid: 'wxdelD', appsecret: 'secret-wxdelD-2b1c', tasks: [{ type: 0 }, { type: 1 }] });
  const ticket = await value('wxdelD', 1);
  const r = await srv.api.del('/task/wxdelD/0');
  assert.equal(r.body, { code: 200, message: '', result: 'success' });
  assert.is((await srv.api.get('/task/wxdelD/0')).status, 404);
  // The ticket fetched before stays served until it runs out; its next fetch has no access_token to use.
  const t = await waitFor(
    'the ticket to report its missing input',
    async () => {
      const x = await srv.api.get('/task/wxdelD/1');
      return x.status === 503 ? x : undefined;
    },
    (EXPIRES_IN + 10) * 1000,
  );
  assert.match(t.body.message as string, /needs a type 0 task of this app or params giving access_token/);
  assert.ok(ticket);
  // A registration that brings the type 0 task back repairs it at once.
  await srv.api.register({ appid: 'wxdelD', appsecret: 'secret-wxdelD-2b1c', tasks: [{ type: 0 }] });
  assert.is.not(await value('wxdelD', 1), ticket);
  await srv.api.del('/app/wxdelD');
});

test('DELETE /task on a type 1 task registers beside type 0', async () => {
  await srv.api.register({ appid: 'wxdelA', appsecret: 'secret-wxdelA-7f3a', tasks: [{ type: 0 }, { type: 1 }] });
  await srv.api.register({ appid: 'wxdelB', appsecret: 'secret-wxdelB-91c2', tasks: [{ type: 0 }] });
  assert.ok(await value('wxdelA', 1));
});

test('DELETE /task stops that task only; a second delete is 404', async () => {
  const r = await srv.api.del('/task/wxdelA/1');
  assert.equal(r.body, { code: 200, message: '', result: 'success' });
  assert.is((await srv.api.get('/task/wxdelA/1')).status, 404);
  const again = await srv.api.del('/task/wxdelA/1');
  assert.is(again.status, 404);
  assert.match(again.body.message as string, /no task of type 1/);
  const before = await sim.calls('wxdelA');
  await sleep((EXPIRES_IN + 1.5) * 1000);
  const after = await sim.calls('wxdelA');
  assert.is(after.ticket, before.ticket, 'no getticket call for longer than an expires_in');
  assert.ok(after.token > before.token, "the app's type 0 task keeps refreshing");
  assert.ok(await sim.valid(await value('wxdelA', 0)));
});

test('DELETE /app stops every timer of the app, its secret and values leave the store; others undisturbed', async () => {
  const tokenA = await value('wxdelA', 0);
  const tokenB = await value('wxdelB', 0);
  assert.equal(
    inStore(srv.dataDir, ['secret-wxdelA-7f3a', 'secret-wxdelB-91c2']),
    ['secret-wxdelA-7f3a', 'secret-wxdelB-91c2'],
    'the search can find what is there',
  );
  const r = await srv.api.del('/app/wxdelA');
  assert.equal(r.body, { code: 200, message: '', result: 'success' });
  for (const path of ['/task/wxdelA/0', '/apps/wxdelA']) assert.is((await srv.api.get(path)).status, 404, path);
  const listed = (await srv.api.get('/apps?limit=1000')).body.result as { apps: Array<{ appid: string }> };
  assert.not.ok(listed.apps.some((a) => a.appid === 'wxdelA'));
  const again = await srv.api.del('/app/wxdelA');
  assert.is(again.status, 404);
  assert.match(again.body.message as string, /App wxdelA is not registered/);

  const before = await sim.calls('wxdelA');
  const beforeB = await sim.calls('wxdelB');
  await sleep((EXPIRES_IN + 1.5) * 1000);
  assert.equal(await sim.calls('wxdelA'), before, 'not one WeChat call for the deleted app');
  assert.ok((await sim.calls('wxdelB')).token > beforeB.token, 'the other app kept refreshing');
  const nowB = await value('wxdelB', 0);
  assert.ok(await sim.valid(nowB));
  assert.is.not(nowB, tokenB);

  const latestTicket = (await (await fetch(`${sim.url}/__sim/latest?kind=jsapi_ticket&owner=wxdelA`)).json()) as {
    token: string;
  };
  const gone = ['secret-wxdelA-7f3a', tokenA, latestTicket.token];
  assert.equal(
    inStore(srv.dataDir, gone),
    [],
    "no trace of the deleted app's secret or values in the database, WAL or shm",
  );
  assert.equal(inStore(srv.dataDir, ['secret-wxdelB-91c2']), ['secret-wxdelB-91c2']);
});

test('type 4 and type 2 tasks are deleted by authorizer_appid / openid; their siblings carry on', async () => {
  await srv.api.register({
    appid: 'wxdelC',
    appsecret: 'secret-wxdelC',
    tasks: [
      { type: 3, params: { component_verify_ticket: 'ticket@@@delC' } },
      { type: 4, authorizer_appid: 'wxdelAuth1', params: { authorizer_refresh_token: 'art-del-1' } },
      { type: 4, authorizer_appid: 'wxdelAuth2', params: { authorizer_refresh_token: 'art-del-2' } },
    ],
  });
  await value('wxdelC', 4, '?authorizer_appid=wxdelAuth1');
  await value('wxdelC', 4, '?authorizer_appid=wxdelAuth2');
  const ambiguous = await srv.api.del('/task/wxdelC/4');
  assert.is(ambiguous.status, 400);
  assert.match(ambiguous.body.message as string, /add \?authorizer_appid=/);
  assert.is((await srv.api.del('/task/wxdelC/4?authorizer_appid=wxdelAuth1')).status, 200);
  assert.is((await srv.api.del('/task/wxdelC/4?authorizer_appid=wxdelAuth1')).status, 404);
  assert.is((await srv.api.get('/task/wxdelC/4?authorizer_appid=wxdelAuth1')).status, 404);
  const before = await sim.stats();
  await sleep((EXPIRES_IN + 1.5) * 1000);
  const after = await sim.stats();
  const authorizer = (stats: SimStats, appid: string) => callsOf(stats, appid).authorizer;
  assert.is(
    authorizer(after, 'wxdelAuth1'),
    authorizer(before, 'wxdelAuth1'),
    'the deleted authorizer is not refreshed',
  );
  assert.ok(authorizer(after, 'wxdelAuth2') > authorizer(before, 'wxdelAuth2'), 'its sibling is');
  assert.ok(await sim.valid(await value('wxdelC', 4, '?authorizer_appid=wxdelAuth2')));
  // Only one type 4 task left: it is found without a selector, as GET /task finds it.
  assert.is((await srv.api.get('/task/wxdelC/4')).status, 200);

  await srv.api.register({
    appid: 'wxdelD',
    appsecret: 'secret-wxdelD',
    tasks: [
      { type: 2, openid: 'u1', params: { refresh_token: 'rt-del-u1' } },
      { type: 2, openid: 'u2', params: { refresh_token: 'rt-del-u2' } },
    ],
  });
  await value('wxdelD', 2, '?openid=u1');
  assert.is((await srv.api.del('/task/wxdelD/2?openid=u1')).status, 200);
  assert.is((await srv.api.get('/task/wxdelD/2?openid=u1')).status, 404);
  assert.ok(await value('wxdelD', 2, '?openid=u2'));
  assert.is((await srv.api.del('/task/wxdelD/2?openid=u1')).status, 404);
});

test('deleting the last task removes the app; unknown apps and tasks are 404', async () => {
  await srv.api.register({ appid: 'wxdelE', appsecret: 'secret-wxdelE-55aa', tasks: [{ type: 0 }] });
  const token = await value('wxdelE', 0);
  assert.is((await srv.api.del('/task/wxdelE/0')).status, 200);
  assert.is((await srv.api.get('/apps/wxdelE')).status, 404, 'the app went with its last task');
  assert.equal(inStore(srv.dataDir, ['secret-wxdelE-55aa', token]), []);
  for (const path of ['/app/wxnosuch', '/task/wxnosuch/0', '/task/wxdelB/3', '/app/bad%00appid']) {
    const r = await srv.api.del(path);
    assert.is(r.status, 404, path);
    assert.is(r.body.code, 404, path);
  }
  assert.is((await srv.api.del('/task/wxdelB/7')).status, 400, 'type not 0-5');
});

test('deleted apps stay deleted across a restart, with no fetch for them', async () => {
  await srv.stop();
  const before = await sim.stats();
  srv = await startServer({ wechatApi: sim.url, dataDir: srv.dataDir });
  for (const path of [
    '/task/wxdelA/0',
    '/task/wxdelE/0',
    '/task/wxdelC/4?authorizer_appid=wxdelAuth1',
    '/task/wxdelD/2?openid=u1',
  ]) {
    assert.is((await srv.api.get(path)).status, 404, path);
  }
  assert.ok(await value('wxdelB', 0));
  await sleep((EXPIRES_IN + 1.5) * 1000);
  const after = await sim.stats();
  for (const appid of ['wxdelA', 'wxdelE', 'wxdelAuth1']) {
    assert.equal(callsOf(after, appid), callsOf(before, appid), `WeChat calls for ${appid}`);
  }
});

test.run();
