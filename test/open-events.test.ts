// WeChat's pushes to a third-party platform, end to end through the real
// binary and the simulator pushing encrypted events (docs/api.md §11): verify
// tickets, authorizations and unauthorizations; hostile pushes refused with
// nothing changed; authorizer import, 61023 recovery and clear-quota.
import { createCipheriv } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MsgCrypto } from '../lib/wechat/msg-crypto.js';
import { Business, startBusiness } from './helpers/business.js';
import { checkAnswer } from './helpers/contract.js';
import { call, client, Json } from './helpers/http.js';
import { waitFor } from './helpers/poll.js';
import { RunningServer, startServer, stopAll } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const ADMIN = 'admin-token-open';
const PUSH_TOKEN = 'pushtoken123';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const COMP = 'wxcompopen';

let sim: Sim;
let biz: Business;
let srv: RunningServer;
const simApi = () => client(sim.url);

test.before(async () => {
  sim = await startSim();
  biz = await startBusiness();
  srv = await startServer({ wechatApi: sim.url, args: ['--token', ADMIN], token: ADMIN });
});
test.after(async () => {
  await stopAll();
  await biz.close();
  await sim.close();
});

const pushes = (path: string) =>
  biz.received.filter((r) => r.method === 'POST' && r.path === path).map((r) => JSON.parse(r.body) as Json);

async function component(appid: string, notify = `${biz.url}/push-${appid}`): Promise<void> {
  const r = await srv.api.register({
    appid,
    appsecret: `secret-${appid}`,
    tasks: [{ type: 3, push: { token: PUSH_TOKEN, encoding_aes_key: AES_KEY, notify } }],
  });
  assert.is(r.status, 200, r.text);
  const c = await simApi().post('/__sim/components', {
    component_appid: appid,
    url: `${srv.url}/component/${appid}/events`,
    token: PUSH_TOKEN,
    encoding_aes_key: AES_KEY,
  });
  assert.is(c.status, 200, c.text);
}

async function push(body: Json): Promise<Json> {
  const r = await simApi().post('/__sim/push', body);
  assert.is(r.status, 200, r.text);
  return r.body;
}

async function readyComponent(appid: string): Promise<void> {
  await component(appid);
  const p = await push({ component_appid: appid, info_type: 'component_verify_ticket' });
  assert.equal([p.status, p.body], [200, 'success']);
  await srv.api.awaitValue(appid, 3);
}

test('a verify ticket push unblocks the waiting component fetch; push.notify gets the event', async () => {
  await component(COMP);
  // The first attempt finds no ticket and says what it waits for; poll, as it may not have run yet.
  const before = await waitFor('the component to wait for a ticket', async () => {
    const r = await srv.api.get(`/task/${COMP}/3`);
    return r.status === 503 && /push a component_verify_ticket/.test(String(r.body.message)) ? r : undefined;
  });
  assert.is(before.status, 503);
  assert.is((await sim.calls(COMP)).component, 0, 'no ticket, no WeChat call');
  const p = await push({ component_appid: COMP, info_type: 'component_verify_ticket' });
  assert.is(p.status, 200);
  assert.is(p.body, 'success');
  const cat = await srv.api.awaitValue(COMP, 3);
  assert.ok(await sim.valid(cat));
  assert.is((await sim.calls(COMP)).component, 1);
  const n = await waitFor('the event on push.notify', () =>
    pushes(`/push-${COMP}`).find((e) => e.InfoType === 'component_verify_ticket'),
  );
  assert.is(n.ComponentVerifyTicket, p.ticket);
  assert.is(n.AppId, COMP);
});

test('a ticket older than the kept one is ignored; a newer one is used', async () => {
  const now = Math.floor(Date.now() / 1000);
  const newer = await push({ component_appid: COMP, info_type: 'component_verify_ticket', create_time: now + 60 });
  const older = await push({ component_appid: COMP, info_type: 'component_verify_ticket', create_time: now - 3600 });
  assert.is(older.body, 'success', 'answered success all the same, as WeChat expects');
  // Make the older ticket one WeChat refuses: a refresh that used it would fail.
  await sim.ticket(String(older.ticket), 'invalid');
  const r = await srv.api.post(`/task/${COMP}/3/refresh`);
  assert.is(r.status, 200, r.text);
  await sim.ticket(String(newer.ticket), 'invalid');
  const failed = await srv.api.post(`/task/${COMP}/3/refresh`, { stale: r.body.result });
  assert.is(failed.status, 503, 'the kept ticket is the newer one, which WeChat now refuses');
  assert.match(String(failed.body.message), /61006/);
  // A fresh ticket puts it right again.
  await push({ component_appid: COMP, info_type: 'component_verify_ticket', create_time: now + 120 });
  await waitFor(
    'the component token back',
    async () => (await srv.api.post(`/task/${COMP}/3/refresh`, { stale: r.body.result })).status === 200,
  );
});

test("authorized: the type-4 task is registered with api_query_auth's token, served with no api_authorizer_token call", async () => {
  const before = await sim.calls(COMP);
  const p = await push({ component_appid: COMP, info_type: 'authorized', authorizer_appid: 'wxauthOpenA' });
  assert.equal([p.status, p.body], [200, 'success']);
  // Answered once registered: no polling needed.
  const v = await srv.api.get(`/task/${COMP}/4?authorizer_appid=wxauthOpenA`);
  assert.is(v.status, 200, v.text);
  const latest = (await simApi().get('/__sim/latest?kind=authorizer_access_token&owner=wxauthOpenA')).body;
  assert.is(v.body.result, latest.token, 'the token api_query_auth returned');
  const after = await sim.calls(COMP);
  assert.is(after.query_auth - before.query_auth, 1);
  assert.is(after.authorizer - before.authorizer, 0, 'no extra WeChat fetch');
  const status = await srv.api.get(`/apps/${COMP}`);
  const tasks = (status.body.result as { tasks: Array<Json> }).tasks;
  assert.ok(tasks.some((t) => t.type === 4 && t.authorizer_appid === 'wxauthOpenA' && t.state === 'ready'));
  await waitFor('the authorized event on push.notify', () =>
    pushes(`/push-${COMP}`).find((e) => e.InfoType === 'authorized' && e.AuthorizerAppid === 'wxauthOpenA'),
  );

  // updateauthorized: the new token replaces the old one, still without a fetch.
  const u = await push({ component_appid: COMP, info_type: 'updateauthorized', authorizer_appid: 'wxauthOpenA' });
  assert.is(u.body, 'success');
  const v2 = await srv.api.get(`/task/${COMP}/4?authorizer_appid=wxauthOpenA`);
  assert.is.not(v2.body.result, v.body.result);
  assert.is(
    v2.body.result,
    (await simApi().get('/__sim/latest?kind=authorizer_access_token&owner=wxauthOpenA')).body.token,
  );
  assert.is((await sim.calls(COMP)).authorizer - before.authorizer, 0);

  // The kept refresh token is the one the re-authorization gave: a refresh with it works.
  const r = await srv.api.post(`/task/${COMP}/4/refresh?authorizer_appid=wxauthOpenA`, { stale: v2.body.result });
  assert.is(r.status, 200, r.text);
  assert.is((await sim.calls(COMP)).authorizer - before.authorizer, 1);
});

test('unauthorized: the type-4 task is unregistered and no longer refreshed', async () => {
  const p = await push({ component_appid: COMP, info_type: 'unauthorized', authorizer_appid: 'wxauthOpenA' });
  assert.is(p.body, 'success');
  const r = await srv.api.get(`/task/${COMP}/4?authorizer_appid=wxauthOpenA`);
  assert.is(r.status, 404);
  const status = await srv.api.get(`/apps/${COMP}`);
  assert.not.ok((status.body.result as { tasks: Array<Json> }).tasks.some((t) => t.type === 4));
  await waitFor('the unauthorized event on push.notify', () =>
    pushes(`/push-${COMP}`).find((e) => e.InfoType === 'unauthorized'),
  );
});

/** A push as WeChat would send it, with parts replaced to make it hostile. */
function signed(encrypt: string, opts: { token?: string; appid?: string; outerAppid?: string } = {}) {
  const crypto = new MsgCrypto(opts.token ?? PUSH_TOKEN, AES_KEY, opts.appid ?? COMP);
  const q = new URLSearchParams({
    timestamp: '1700000000',
    nonce: '12345',
    msg_signature: crypto.sign('1700000000', '12345', encrypt),
    encrypt_type: 'aes',
  });
  return {
    query: q.toString(),
    body: `<xml><AppId><![CDATA[${opts.outerAppid ?? COMP}]]></AppId><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`,
  };
}

const ticketXml = (appid: string) =>
  `<xml><AppId>${appid}</AppId><CreateTime>${Math.floor(Date.now() / 1000) + 999}</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>forged-ticket</ComponentVerifyTicket></xml>`;

function badPadding(): string {
  const key = Buffer.from(`${AES_KEY}=`, 'base64');
  const plain = Buffer.alloc(64, 7);
  plain[63] = 0;
  const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  return Buffer.concat([c.update(plain), c.final()]).toString('base64');
}

test('hostile pushes: 401/400/413 with a sentence, no API token needed, and nothing changes', async () => {
  const good = new MsgCrypto(PUSH_TOKEN, AES_KEY, COMP).encrypt(ticketXml(COMP));
  const snapshot = async () =>
    JSON.stringify([
      (await srv.api.get(`/apps/${COMP}`)).body,
      (await sim.stats()).total,
      pushes(`/push-${COMP}`).length,
    ]);
  const before = await snapshot();
  const bomb = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><AppId>${COMP}</AppId><Encrypt>&b;</Encrypt></xml>`;
  const cases: Array<{ name: string; path?: string; query: string; body: string; status: number; message: RegExp }> = [
    {
      name: 'forged signature',
      ...signed(good, { token: 'not-the-token' }),
      status: 401,
      message: /msg_signature does not match/,
    },
    {
      name: 'wrong appid inside the message',
      ...signed(new MsgCrypto(PUSH_TOKEN, AES_KEY, 'wxsomeoneelse').encrypt(ticketXml(COMP))),
      status: 401,
      message: /another appid/,
    },
    {
      name: 'wrong AppId outside',
      ...signed(good, { outerAppid: 'wxsomeoneelse' }),
      status: 401,
      message: /another appid/,
    },
    {
      name: 'the inner AppId of another component',
      ...signed(new MsgCrypto(PUSH_TOKEN, AES_KEY, COMP).encrypt(ticketXml('wxsomeoneelse'))),
      status: 401,
      message: /another appid/,
    },
    { name: 'truncated Encrypt', ...signed(good.slice(0, 50)), status: 400, message: /not base64|AES blocks/ },
    {
      name: 'truncated by whole blocks',
      ...signed(good.slice(0, 44)),
      status: 400,
      message: /AES blocks|padded|too short|length/,
    },
    { name: 'non-base64 Encrypt', ...signed('!!!not-base64!!!'), status: 400, message: /not base64/ },
    { name: 'bad padding', ...signed(badPadding()), status: 400, message: /padded message/ },
    { name: 'XML bomb', query: signed(good).query, body: bomb, status: 400, message: /DOCTYPE or ENTITY/ },
    {
      name: 'oversized body',
      query: signed(good).query,
      body: `<xml><Encrypt>${'A'.repeat(200_000)}</Encrypt></xml>`,
      status: 413,
      message: /larger than/,
    },
    {
      name: 'no signature',
      query: 'timestamp=1&nonce=2',
      body: signed(good).body,
      status: 400,
      message: /msg_signature/,
    },
    {
      name: 'a component without push',
      path: '/component/wxnopush/events',
      ...signed(good),
      status: 401,
      message: /No component with push settings/,
    },
    {
      name: 'not XML',
      query: signed(good).query,
      body: '{"Encrypt": "x"}',
      status: 400,
      message: /not WeChat's event XML/,
    },
  ];
  for (const c of cases) {
    // No Authorization header: WeChat sends none.
    const r = await call(srv.url, 'POST', `${c.path ?? `/component/${COMP}/events`}?${c.query}`, {
      raw: c.body,
      headers: { 'content-type': 'text/xml' },
    });
    assert.is(r.status, c.status, `${c.name}: ${r.text}`);
    assert.is(r.body.code, c.status, c.name);
    assert.match(String(r.body.message), c.message, c.name);
    checkAnswer('POST', c.path ?? `/component/${COMP}/events`, r);
  }
  assert.is(await snapshot(), before, 'nothing stored or called');
  // The genuine message is accepted without a token; the other component routes still need one.
  const ok = signed(good);
  const accepted = await call(srv.url, 'POST', `/component/${COMP}/events?${ok.query}`, {
    raw: ok.body,
    headers: { 'content-type': 'text/xml' },
  });
  assert.is(accepted.status, 200, accepted.text);
  assert.is(accepted.text, 'success');
  checkAnswer('POST', `/component/${COMP}/events`, accepted);
  assert.is((await call(srv.url, 'POST', `/component/${COMP}/authorizers/import`)).status, 401);
  assert.is((await call(srv.url, 'POST', `/app/${COMP}/clear-quota`)).status, 401);
});

test('push settings are validated at registration', async () => {
  for (const [push, pattern] of [
    [{ token: PUSH_TOKEN, encoding_aes_key: 'short' }, /encoding_aes_key must be/],
    [{ encoding_aes_key: AES_KEY }, /push.token must be/],
    [{ token: PUSH_TOKEN, encoding_aes_key: AES_KEY, notify: 'ftp://x' }, /push.notify must be/],
    [{ token: PUSH_TOKEN, encoding_aes_key: AES_KEY, extra: 1 }, /unknown field "extra"/],
  ] as const) {
    const r = await srv.api.register({ appid: 'wxbadpush', appsecret: 's', tasks: [{ type: 3, push }] });
    assert.is(r.status, 400, r.text);
    assert.match(String(r.body.message), pattern);
  }
  const onType0 = await srv.api.register({
    appid: 'wxbadpush',
    appsecret: 's',
    tasks: [{ type: 0, push: { token: PUSH_TOKEN, encoding_aes_key: AES_KEY } }],
  });
  assert.is(onType0.status, 400);
  assert.match(String(onType0.body.message), /only allowed on type 3/);
  assert.is((await srv.api.get('/apps/wxbadpush')).status, 404, 'nothing registered');
});

test('import pages through api_get_authorizer_list (500 a page) and is idempotent', async () => {
  const comp = 'wxcompimport';
  await readyComponent(comp);
  const authorizers = Array.from({ length: 1001 }, (_, i) => ({
    authorizer_appid: `wxai${String(i).padStart(4, '0')}`,
  }));
  assert.is((await simApi().post('/__sim/authorizers', { component_appid: comp, authorizers })).status, 200);
  const first = await srv.api.post(`/component/${comp}/authorizers/import`);
  assert.is(first.status, 200, first.text);
  assert.equal(first.body.result, { imported: 1001, existing: 0 });
  assert.is((await sim.calls(comp)).authorizer_list, 3, 'three pages: 500, 500, 1');
  for (const a of ['wxai0000', 'wxai0500', 'wxai1000'])
    assert.ok(await sim.valid(await srv.api.awaitValue(comp, 4, `?authorizer_appid=${a}`)));
  const second = await srv.api.post(`/component/${comp}/authorizers/import`);
  assert.equal(second.body.result, { imported: 0, existing: 1001 });
  const status = (await srv.api.get(`/apps/${comp}`)).body.result as { tasks: Json[] };
  assert.is(status.tasks.filter((t) => t.type === 4).length, 1001);
  const noToken = await srv.api.post('/component/wxnosuchcomp/authorizers/import');
  assert.is(noToken.status, 404);
  assert.match(String(noToken.body.message), /not registered/);
});

test('61023: the current refresh token is looked up with api_get_authorizer_list, and the fetch retried once', async () => {
  const comp = 'wxcomp61023';
  await readyComponent(comp);
  await push({ component_appid: comp, info_type: 'authorized', authorizer_appid: 'wxauth61023' });
  const first = await srv.api.value(comp, 4, '?authorizer_appid=wxauth61023');
  // The account authorizes again elsewhere: a new refresh token, the kept one revoked (no event reaches us).
  await simApi().post('/__sim/authorizers', {
    component_appid: comp,
    authorizers: [{ authorizer_appid: 'wxauth61023' }],
  });
  const before = await sim.calls(comp);
  const r = await srv.api.post(`/task/${comp}/4/refresh?authorizer_appid=wxauth61023`, { stale: first });
  assert.is(r.status, 200, r.text);
  assert.ok(await sim.valid(r.body.result as string));
  const after = await sim.calls(comp);
  assert.is(after.authorizer_list - before.authorizer_list, 1, 'one lookup');
  assert.is(after.authorizer - before.authorizer, 2, 'the rejected call and one retry');
  // Revoked again within the minute: no second lookup, the refresh fails with WeChat's 61023.
  await simApi().post('/__sim/authorizers', {
    component_appid: comp,
    authorizers: [{ authorizer_appid: 'wxauth61023' }],
  });
  const again = await srv.api.post(`/task/${comp}/4/refresh?authorizer_appid=wxauth61023`, { stale: r.body.result });
  assert.is(again.status, 503);
  assert.match(String(again.body.message), /61023/);
  assert.is((await sim.calls(comp)).authorizer_list - before.authorizer_list, 1, 'at most one lookup a minute');
});

test("clear-quota: WeChat's answer, the component variant, and 48006 as 409", async () => {
  await srv.api.register({ appid: 'wxquota', appsecret: 'quota-secret', tasks: [{ type: 0 }] });
  await sim.config({ clearQuotaMonthlyLimit: 1 });
  try {
    const ok = await srv.api.post('/app/wxquota/clear-quota');
    assert.is(ok.status, 200, ok.text);
    assert.is((ok.body.result as Json).errcode, 0);
    const used = await srv.api.post('/app/wxquota/clear-quota');
    assert.is(used.status, 409);
    assert.match(String(used.body.message), /resets are used up .*48006/);
    const comp = await srv.api.post(`/app/${COMP}/clear-quota`);
    assert.is(comp.status, 200, comp.text);
    assert.is((await sim.calls(COMP)).clear_quota, 1, 'the component endpoint, counted under the component');
    assert.is((await srv.api.post('/app/wxnosuchapp/clear-quota')).status, 404);
  } finally {
    await sim.config({ clearQuotaMonthlyLimit: 10 });
  }
});

test.run();
