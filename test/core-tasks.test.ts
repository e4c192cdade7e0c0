// docs/api.md §3, §5, §6: the five task types end to end through the real binary
// and the simulator, with notify and params callbacks, and the dependency rules.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { at } from './helpers/must.js';
import { Business, startBusiness } from './helpers/business.js';
import { Json } from './helpers/http.js';
import { waitFor } from './helpers/poll.js';
import { RunningServer, startServer, stopAll } from './helpers/server.js';
import { callsOf, Sim, startSim } from './helpers/sim.js';

let sim: Sim;
let biz: Business;
let srv: RunningServer;

test.before(async () => {
  sim = await startSim();
  biz = await startBusiness();
  srv = await startServer({ wechatApi: sim.url });
});
test.after(async () => {
  await stopAll();
  await biz.close();
  await sim.close();
});

const value = (appid: string, type: number, q = '') => srv.api.awaitValue(appid, type, q);
const notifies = (path: string) => biz.received.filter((r) => r.method === 'POST' && r.path === path);
const firstParamCall = (name: string) =>
  at(
    biz.received.filter((r) => r.method === 'GET' && r.path === `/params/${name}`),
    0,
    `GET /params/${name}`,
  );

test('type 0: fetched, served, and notified with appid and type added to the notify query', async () => {
  const r = await srv.api.register({
    appid: 'wxcore0',
    appsecret: 'sec-core0',
    tasks: [{ type: 0, notify: `${biz.url}/n0?tenant=7` }],
  });
  assert.equal(r.body, { code: 200, message: '', result: 'success' });
  assert.is(r.status, 200);
  const token = await value('wxcore0', 0);
  assert.match(token, /^AT_/);
  assert.ok(await sim.valid(token), 'the served token is current at WeChat');
  const n = await waitFor('the notify call', () =>
    notifies('/n0').find((c) => (JSON.parse(c.body) as Json).access_token === token),
  );
  assert.is(n.query.get('appid'), 'wxcore0');
  assert.is(n.query.get('type'), '0');
  assert.is(n.query.get('tenant'), '7');
  assert.match(String(n.headers['content-type']), /application\/json/);
  const body = JSON.parse(n.body) as Json;
  assert.type(body.expires_in, 'number', "the body is WeChat's answer");
});

test('type 1 alone: params URL supplies the access_token; params and notify get appid and type', async () => {
  // The business system holds its own access_token and hands it over through params.
  const at = (await fetch(`${sim.url}/cgi-bin/token?grant_type=client_credential&appid=wxcore1p&secret=own`).then((x) =>
    x.json(),
  )) as Json;
  biz.params.set('t1', { access_token: at.access_token });
  await srv.api.register({
    appid: 'wxcore1p',
    appsecret: 'own',
    tasks: [{ type: 1, params: `${biz.url}/params/t1?k=v`, notify: `${biz.url}/n1p` }],
  });
  const ticket = await value('wxcore1p', 1);
  assert.match(ticket, /^TICKET_/);
  assert.ok(await sim.valid(ticket));
  const p = firstParamCall('t1');
  assert.ok(p, 'params was called');
  assert.is(p.query.get('appid'), 'wxcore1p');
  assert.is(p.query.get('type'), '1');
  assert.is(p.query.get('k'), 'v');
  const n = await waitFor('notify', () => notifies('/n1p')[0]);
  assert.is(n.query.get('type'), '1');
  assert.is((JSON.parse(n.body) as Json).ticket, ticket);
});

test('type 1 inline params: a static access_token object works as well', async () => {
  const at = (await fetch(`${sim.url}/cgi-bin/token?grant_type=client_credential&appid=wxcore1i&secret=own`).then((x) =>
    x.json(),
  )) as Json;
  await srv.api.register({
    appid: 'wxcore1i',
    appsecret: 'own',
    tasks: [{ type: 1, params: { access_token: at.access_token } }],
  });
  assert.ok(await sim.valid(await value('wxcore1i', 1)));
});

test("type 1 with type 0: waits for and uses the same app's access_token", async () => {
  await srv.api.register({ appid: 'wxcore01', appsecret: 's01', tasks: [{ type: 1 }, { type: 0 }] });
  const ticket = await value('wxcore01', 1);
  const token = await value('wxcore01', 0);
  assert.ok(await sim.valid(ticket));
  assert.ok(await sim.valid(token));
  const stats = await sim.stats();
  assert.is(callsOf(stats, 'wxcore01').token, 1, 'one access_token fetch');
  assert.is(
    callsOf(stats, 'wxcore01').ticket,
    1,
    'getticket was not called before the token existed (or it would have failed)',
  );
});

test('a 40001 from getticket refreshes the access_token first, then the ticket is fetched with the new one', async () => {
  await srv.api.register({ appid: 'wxdep', appsecret: 'sdep', tasks: [{ type: 0 }, { type: 1 }] });
  const oldToken = await value('wxdep', 0);
  const oldTicket = await value('wxdep', 1);
  // Someone else fetches a token for this app: ours is replaced at once (no grace).
  await sim.config({ graceSeconds: 0 });
  try {
    await fetch(`${sim.url}/cgi-bin/token?grant_type=client_credential&appid=wxdep&secret=sdep`);
    assert.not.ok(await sim.valid(oldToken), "the scheduler's token is now invalid at WeChat");
    const before = await sim.calls('wxdep');
    const r = await srv.api.post('/task/wxdep/1/refresh', { stale: oldTicket });
    assert.is(r.status, 200, r.text);
    const newTicket = r.body.result as string;
    assert.is.not(newTicket, oldTicket);
    assert.ok(await sim.valid(newTicket));
    const after = await sim.calls('wxdep');
    assert.is(after.token - before.token, 1, 'the access_token was refreshed once');
    assert.is(after.ticket - before.ticket, 2, 'getticket: the rejected call and the retry');
    const newToken = await value('wxdep', 0);
    assert.is.not(newToken, oldToken);
    assert.ok(await sim.valid(newToken));
  } finally {
    await sim.config({ graceSeconds: 300 });
  }
});

test('type 2: inline refresh_token per openid; the rotated refresh token is kept; notify names the openid', async () => {
  await sim.refreshToken({ token: 'rt-u1', kind: 'oauth', openid: 'u1' });
  await sim.refreshToken({ token: 'rt-u2', kind: 'oauth', openid: 'u2' });
  await srv.api.register({
    appid: 'wxoauth',
    appsecret: 'so',
    tasks: [
      { type: 2, openid: 'u1', params: { refresh_token: 'rt-u1' }, notify: `${biz.url}/n2` },
      { type: 2, openid: 'u2', params: { refresh_token: 'rt-u2' } },
    ],
  });
  const t1 = await value('wxoauth', 2, '?openid=u1');
  const t2 = await value('wxoauth', 2, '?openid=u2');
  assert.is.not(t1, t2);
  assert.ok(await sim.valid(t1));
  assert.ok(await sim.valid(t2));
  const ambiguous = await srv.api.get('/task/wxoauth/2');
  assert.is(ambiguous.status, 400);
  assert.match(ambiguous.body.message as string, /openid/);
  const n = await waitFor('notify', () => notifies('/n2')[0]);
  assert.is(n.query.get('openid'), 'u1');
  assert.is(n.query.get('type'), '2');
  // rt-u1 was used and revoked by the simulator: a second refresh only works with the kept, rotated one.
  const r = await srv.api.post('/task/wxoauth/2/refresh?openid=u1', { stale: t1 });
  assert.is(r.status, 200, r.text);
  assert.is(r.body.result, t1, 'WeChat extends an unexpired OAuth2 access_token instead of replacing it');
  assert.ok(await sim.valid(r.body.result as string));
});

test('type 2 via params URL', async () => {
  await sim.refreshToken({ token: 'rt-p', kind: 'oauth', openid: 'up' });
  biz.params.set('t2', { refresh_token: 'rt-p' });
  await srv.api.register({ appid: 'wxoauthp', appsecret: 'so', tasks: [{ type: 2, params: `${biz.url}/params/t2` }] });
  assert.ok(await sim.valid(await value('wxoauthp', 2)));
  const p = firstParamCall('t2');
  assert.is(p.query.get('appid'), 'wxoauthp');
  assert.is(p.query.get('type'), '2');
});

test('types 3 and 4: the component token is used for two authorizers, each served separately and notified', async () => {
  biz.params.set('t3', { component_verify_ticket: 'ticket@@@one' });
  biz.params.set('t4b', { authorizer_appid: 'wxauthB', authorizer_refresh_token: 'art-B' });
  await srv.api.register({
    appid: 'wxcomp',
    appsecret: 'scomp',
    tasks: [
      { type: 3, params: `${biz.url}/params/t3`, notify: `${biz.url}/n3` },
      { type: 4, authorizer_appid: 'wxauthA', params: { authorizer_refresh_token: 'art-A' }, notify: `${biz.url}/n4` },
      { type: 4, params: `${biz.url}/params/t4b`, notify: `${biz.url}/n4` },
    ],
  });
  const cat = await value('wxcomp', 3);
  assert.match(cat, /^CAT_/);
  const a = await value('wxcomp', 4, '?authorizer_appid=wxauthA');
  const b = await value('wxcomp', 4, '?authorizer_appid=wxauthB');
  assert.match(a, /^AAT_/);
  assert.is.not(a, b);
  assert.ok(await sim.valid(a));
  assert.ok(await sim.valid(b));
  const owners = await Promise.all(
    [a, b].map(async (t) => ((await fetch(`${sim.url}/__sim/valid?token=${t}`).then((x) => x.json())) as Json).owner),
  );
  assert.equal(owners, ['wxauthA', 'wxauthB']);
  const stats = await sim.stats();
  assert.is(callsOf(stats, 'wxcomp').component, 1, 'one component token for both authorizers');
  const p3 = firstParamCall('t3');
  assert.is(p3.query.get('type'), '3');
  const n4 = await waitFor('both type-4 notifies', () => {
    const got = notifies('/n4');
    return got.length >= 2 ? got : undefined;
  });
  assert.equal(n4.map((n) => n.query.get('authorizer_appid')).sort(), ['wxauthA', 'wxauthB']);
  assert.ok(n4.every((n) => n.query.get('appid') === 'wxcomp' && n.query.get('type') === '4'));
  const both = await srv.api.get('/task/wxcomp/4');
  assert.is(both.status, 400, 'two authorizers and no authorizer_appid');
});

test('type 4 with params naming a component_access_token and no type 3 task', async () => {
  const cat = (await fetch(`${sim.url}/cgi-bin/component/api_component_token`, {
    method: 'POST',
    body: JSON.stringify({ component_appid: 'wxcomp2', component_appsecret: 'c2', component_verify_ticket: 'tk' }),
  }).then((x) => x.json())) as Json;
  await srv.api.register({
    appid: 'wxcomp2',
    appsecret: 'c2',
    tasks: [
      {
        type: 4,
        params: {
          component_access_token: cat.component_access_token as string,
          authorizer_appid: 'wxauthC',
          authorizer_refresh_token: 'art-C',
        },
      },
    ],
  });
  assert.ok(await sim.valid(await value('wxcomp2', 4)));
});

test("type 5 with type 0: the wx_card api_ticket uses the same app's access_token, and is not the jsapi_ticket", async () => {
  await srv.api.register({
    appid: 'wxcard05',
    appsecret: 's05',
    tasks: [{ type: 5, notify: `${biz.url}/n5` }, { type: 1 }, { type: 0 }],
  });
  const card = await value('wxcard05', 5);
  const jsapi = await value('wxcard05', 1);
  assert.match(card, /^CARD_/, 'getticket was asked for type=wx_card');
  assert.match(jsapi, /^TICKET_/);
  assert.ok(await sim.valid(card));
  const stats = await sim.stats();
  assert.is(callsOf(stats, 'wxcard05').token, 1, 'one access_token for both tickets');
  assert.is(callsOf(stats, 'wxcard05').ticket, 2, 'one getticket per ticket kind, none before the token existed');
  const n = await waitFor('the type 5 notify', () => notifies('/n5')[0]);
  assert.is(n.query.get('type'), '5');
  assert.is((JSON.parse(n.body) as Json).ticket, card);
  const status = await srv.api.get('/apps/wxcard05');
  const tasks = (status.body.result as { tasks: Array<{ type: number; name: string }> }).tasks;
  assert.ok(
    tasks.some((t) => t.type === 5 && t.name === 'wx_card_ticket'),
    '/apps names type 5',
  );
});

test('type 5 alone: params supplies the access_token; without type 0 or params it is refused with a sentence', async () => {
  const at = (await fetch(`${sim.url}/cgi-bin/token?grant_type=client_credential&appid=wxcard5p&secret=own`).then((x) =>
    x.json(),
  )) as Json;
  await srv.api.register({
    appid: 'wxcard5p',
    appsecret: 'own',
    tasks: [{ type: 5, params: { access_token: at.access_token as string } }],
  });
  assert.match(await value('wxcard5p', 5), /^CARD_/);
  const bad = await srv.api.register({ appid: 'wxcard5x', appsecret: 'own', tasks: [{ type: 5 }] });
  assert.is(bad.status, 400);
  assert.match(String(bad.body.message), /type 5, wx_card api_ticket\) needs a type 0 task/);
  assert.is((await srv.api.get('/task/wxcard5x/5')).status, 404, 'nothing was registered');
});

test('a notify URL that answers 500 is retried at least three times', async () => {
  const slow = await startBusiness();
  slow.notifyStatus = 500;
  try {
    await srv.api.register({ appid: 'wxretry', appsecret: 'sr', tasks: [{ type: 0, notify: `${slow.url}/n` }] });
    await waitFor('three notify attempts', () => slow.received.filter((r) => r.path === '/n').length >= 3, 30_000);
  } finally {
    await slow.close();
  }
});

test.run();
