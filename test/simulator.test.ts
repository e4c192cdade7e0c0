// The WeChat API simulator: every endpoint, the token validity model, fault
// injection and the admin API, exercised over HTTP the way clients use it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startSimulator, type RunningSimulator } from '../lib/simulator/index.js';
import { secondsLeft } from '../lib/simulator/state.js';
import { must } from './helpers/must.js';
import { waitFor } from './helpers/poll.js';

type Json = Record<string, unknown>;
interface Reply {
  status: number;
  body: Json;
}

let sim: RunningSimulator;

async function call(path: string, init?: RequestInit): Promise<Reply> {
  const res = await fetch(sim.url + path, init);
  const text = await res.text();
  let body: Json;
  try {
    body = JSON.parse(text) as Json;
  } catch {
    body = { text };
  }
  return { status: res.status, body };
}
const get = (path: string) => call(path);
const post = (path: string, body: unknown, type = 'application/json') =>
  call(path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': type } });
const del = (path: string) => call(path, { method: 'DELETE' });

function str(body: Json, key: string): string {
  const v = body[key];
  assert.type(v, 'string', `${key} in ${JSON.stringify(body)}`);
  return v as string;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const token = (appid: string, secret = 's1') =>
  get(`/cgi-bin/token?grant_type=client_credential&appid=${appid}&secret=${secret}`);
const ticket = (accessToken: string) => get(`/cgi-bin/ticket/getticket?access_token=${accessToken}&type=jsapi`);
const oauth = (appid: string, rt: string) =>
  get(`/sns/oauth2/refresh_token?appid=${appid}&grant_type=refresh_token&refresh_token=${rt}`);
const component = (appid: string, ticketValue: string, secret = 'cs') =>
  post('/cgi-bin/component/api_component_token', {
    component_appid: appid,
    component_appsecret: secret,
    component_verify_ticket: ticketValue,
  });
const authorizer = (cat: string, componentAppid: string, authorizerAppid: string, rt: string) =>
  post(`/cgi-bin/component/api_authorizer_token?component_access_token=${cat}`, {
    component_appid: componentAppid,
    authorizer_appid: authorizerAppid,
    authorizer_refresh_token: rt,
  });
const stable = (appid: string, force?: boolean) =>
  post('/cgi-bin/stable_token', { grant_type: 'client_credential', appid, secret: 's1', force_refresh: force });
const isValid = async (value: string) => (await get(`/__sim/valid?token=${value}`)).body.valid;

test.before(async () => {
  sim = await startSimulator({ port: 0 });
});
test.after(async () => {
  await sim.close();
});
test.before.each(async () => {
  await post('/__sim/reset', {});
  await post('/__sim/config', {
    expiresIn: 7200,
    ticketExpiresIn: null,
    graceSeconds: 300,
    rotateRefreshTokens: true,
    rotateAuthorizerRefreshTokens: false,
    open: true,
    stableForceDailyLimit: 20,
    stableForceIntervalSeconds: 30,
    clearQuotaMonthlyLimit: 10,
    // errmsgs compared whole below; the " rid: …" WeChat appends has a test of its own.
    rid: false,
  });
});

test('listens on port 0 with a usable url', () => {
  assert.ok(sim.port > 0);
  assert.is(sim.url, `http://127.0.0.1:${sim.port}`);
});

test('cgi-bin/token issues a fresh access_token like WeChat', async () => {
  const r = await token('wxA');
  assert.is(r.status, 200);
  assert.equal(Object.keys(r.body).sort(), ['access_token', 'expires_in']);
  assert.is(r.body.expires_in, 7200);
  const valid = await get(`/__sim/valid?token=${str(r.body, 'access_token')}`);
  assert.equal(
    { ...valid.body, expiresAt: 0 },
    { valid: true, status: 'valid', kind: 'access_token', owner: 'wxA', expiresAt: 0 },
  );
  const again = await token('wxA');
  assert.is.not(again.body.access_token, r.body.access_token);
  assert.ok(await isValid(str(r.body, 'access_token')), 'the previous token survives the grace period');
});

test('cgi-bin/token rejects wrong secrets, invalid apps and grant types', async () => {
  await token('wxA', 'first');
  assert.equal((await token('wxA', 'other')).body, { errcode: 40125, errmsg: 'invalid appsecret' });
  await post('/__sim/apps', { appid: 'wxB', secret: 'right' });
  assert.is((await token('wxB', 's1')).body.errcode, 40125);
  assert.type((await token('wxB', 'right')).body.access_token, 'string');
  await post('/__sim/apps', { appid: 'wxB', invalid: true });
  assert.equal((await token('wxB', 'right')).body, { errcode: 40013, errmsg: 'invalid appid' });
  const grant = await get('/cgi-bin/token?grant_type=x&appid=wxA&secret=first');
  assert.is(grant.body.errcode, 40002);
});

test('getticket needs a current access_token (40001 after replacement with grace 0)', async () => {
  const first = str((await token('wxA')).body, 'access_token');
  const ok = await ticket(first);
  assert.is(ok.body.errcode, 0);
  assert.is(ok.body.errmsg, 'ok');
  assert.type(ok.body.ticket, 'string');
  assert.is(ok.body.expires_in, 7200);
  await post('/__sim/config', { graceSeconds: 0 });
  const second = str((await token('wxA')).body, 'access_token');
  assert.equal((await ticket(first)).body, {
    errcode: 40001,
    errmsg: 'invalid credential, access_token is invalid or not latest',
  });
  assert.is(await isValid(first), false);
  assert.is((await ticket(second)).body.errcode, 0);
  assert.is((await ticket('made-up')).body.errcode, 40001);
});

test('an access_token that ran out answers 42001; grace ends after graceSeconds', async () => {
  await post('/__sim/apps', { appid: 'wxShort', expiresIn: 1 });
  // Long enough that the check right after the replacement lands inside it on a loaded machine.
  await post('/__sim/config', { graceSeconds: 3 });
  const short = str((await token('wxShort')).body, 'access_token');
  const old = str((await token('wxA')).body, 'access_token');
  const replacing = Date.now();
  await token('wxA');
  assert.ok(await isValid(old), 'still inside the grace period');
  const expired = await waitFor('the short token to run out', async () => {
    const body = (await ticket(short)).body;
    return body.errcode === 42001 ? body : undefined;
  });
  assert.equal(expired, { errcode: 42001, errmsg: 'access_token expired' });
  await waitFor('the grace period to end', async () => !(await isValid(old)));
  assert.ok(Date.now() - replacing >= 3_000, 'not before graceSeconds');
  assert.is((await ticket(old)).body.errcode, 40001, 'replaced, not expired');
});

test('oauth refresh rotates the refresh_token and rejects the used one (40030)', async () => {
  await post('/__sim/refresh-tokens', { token: 'rt0', kind: 'oauth', openid: 'user1' });
  const r = await oauth('wxA', 'rt0');
  assert.equal(Object.keys(r.body).sort(), ['access_token', 'expires_in', 'openid', 'refresh_token', 'scope']);
  assert.is(r.body.openid, 'user1');
  const next = str(r.body, 'refresh_token');
  assert.is.not(next, 'rt0');
  assert.equal((await oauth('wxA', 'rt0')).body, { errcode: 40030, errmsg: 'invalid refresh_token' });
  const r2 = await oauth('wxA', next);
  assert.is(r2.body.openid, 'user1');
  assert.ok(await isValid(str(r2.body, 'access_token')));
  assert.is((await oauth('wxA', 'anything')).body.openid, 'o_wxA', 'open mode accepts unknown tokens');
  await post('/__sim/refresh-tokens', { token: 'bad', kind: 'oauth', revoked: true });
  assert.is((await oauth('wxA', 'bad')).body.errcode, 40030);
  await post('/__sim/config', { rotateRefreshTokens: false });
  assert.is((await oauth('wxA', 'keep')).body.refresh_token, 'keep');
  assert.is((await oauth('wxA', 'keep')).body.refresh_token, 'keep');
});

test('component token: success, 61006 marked/empty ticket, 61005 expired, 40125', async () => {
  const r = await component('wxC', 'ticket@1');
  assert.equal(Object.keys(r.body).sort(), ['component_access_token', 'expires_in']);
  await post('/__sim/tickets', { ticket: 'bad', state: 'invalid' });
  assert.equal((await component('wxC', 'bad')).body, { errcode: 61006, errmsg: 'component_verify_ticket is invalid' });
  assert.is((await component('wxC', '')).body.errcode, 61006);
  await post('/__sim/tickets', { ticket: 'old', state: 'expired' });
  assert.equal((await component('wxC', 'old')).body, { errcode: 61005, errmsg: 'component_verify_ticket is expired' });
  assert.is((await component('wxC', 'ticket@1', 'wrong')).body.errcode, 40125);
});

test('POST endpoints accept JSON sent as text/plain, and 47001 for a non-JSON body', async () => {
  const body = { component_appid: 'wxC', component_appsecret: 'cs', component_verify_ticket: 't' };
  const r = await post('/cgi-bin/component/api_component_token', body, 'text/plain');
  assert.type(r.body.component_access_token, 'string');
  const bad = await call('/cgi-bin/stable_token', { method: 'POST', body: '{nope' });
  assert.is(bad.body.errcode, 47001);
});

test('authorizer token: success, the same refresh token by default, rotation when configured, 61023 for used or revoked, 40001 for a bad component token', async () => {
  const cat = str((await component('wxC', 't')).body, 'component_access_token');
  const same = await authorizer(cat, 'wxC', 'wxAuthSame', 'art-same');
  assert.is(
    same.body.authorizer_refresh_token,
    'art-same',
    'WeChat returns the same refresh token until re-authorization',
  );
  assert.type(
    (await authorizer(cat, 'wxC', 'wxAuthSame', 'art-same')).body.authorizer_access_token,
    'string',
    'and it keeps working',
  );
  await post('/__sim/config', { rotateAuthorizerRefreshTokens: true });
  const r = await authorizer(cat, 'wxC', 'wxAuth', 'art0');
  assert.equal(Object.keys(r.body).sort(), ['authorizer_access_token', 'authorizer_refresh_token', 'expires_in']);
  const next = str(r.body, 'authorizer_refresh_token');
  assert.is.not(next, 'art0');
  assert.equal((await authorizer(cat, 'wxC', 'wxAuth', 'art0')).body, {
    errcode: 61023,
    errmsg: 'refresh_token is invalid',
  });
  assert.type((await authorizer(cat, 'wxC', 'wxAuth', next)).body.authorizer_access_token, 'string');
  await post('/__sim/refresh-tokens', { token: 'revoked', kind: 'authorizer', revoked: true });
  assert.is((await authorizer(cat, 'wxC', 'wxAuth2', 'revoked')).body.errcode, 61023);
  assert.is((await authorizer('nope', 'wxC', 'wxAuth', 'x')).body.errcode, 40001);
  const otherCat = str((await component('wxD', 't')).body, 'component_access_token');
  assert.is((await authorizer(otherCat, 'wxC', 'wxAuth', 'y')).body.errcode, 40001, 'token of another component');
  await post('/__sim/config', { rotateAuthorizerRefreshTokens: false });
  assert.is((await authorizer(cat, 'wxC', 'wxAuth3', 'keep')).body.authorizer_refresh_token, 'keep');
});

test('expires_in never reports more than a token has left', () => {
  const token = {
    value: 'SAT_x',
    kind: 'stable_access_token' as const,
    owner: 'wx',
    issuedAt: 0,
    expiresAt: 5_000,
    heapIndex: -1,
  };
  assert.is(secondsLeft(token, 0), 5, 'a fresh token: its whole lifetime');
  assert.is(secondsLeft(token, 3_950), 1, '1.05 s left is 1 s, not 2: a client trusting 2 s would serve a dead token');
  assert.is(secondsLeft(token, 4_999), 0);
  assert.is(secondsLeft(token, 6_000), 0, 'never negative');
});

test('stable_token keeps its token, force_refresh is spaced (45011) and capped daily (45009)', async () => {
  const asked = Date.now();
  const a = await stable('wxS');
  assert.is(a.body.expires_in, 7200, 'a fresh token reports its whole lifetime');
  const b = await stable('wxS', false);
  assert.is(b.body.access_token, a.body.access_token);
  // The same token again reports whole seconds left, rounded down: never more than it has.
  const elapsed = Date.now() - asked;
  const left = Number(b.body.expires_in);
  assert.ok(left <= 7200 && left >= Math.floor(7200 - elapsed / 1000), `expires_in ${left} after ${elapsed} ms`);
  const forced = await stable('wxS', true);
  assert.is.not(forced.body.access_token, a.body.access_token);
  assert.not.ok(
    await isValid(str(a.body, 'access_token')),
    'a forced refresh invalidates the old stable token at once',
  );
  assert.equal((await stable('wxS', true)).body, {
    errcode: 45011,
    errmsg: 'api minute-quota reach limit mustslower retry next minute',
  });
  assert.is((await stable('wxS')).body.access_token, forced.body.access_token);
  await post('/__sim/config', { stableForceIntervalSeconds: 0, stableForceDailyLimit: 2 });
  assert.type((await stable('wxS', true)).body.access_token, 'string');
  assert.equal((await stable('wxS', true)).body, { errcode: 45009, errmsg: 'reach max api daily quota limit' });
});

test('stable_token is isolated from cgi-bin/token and renews in the last 20 % of a short life', async () => {
  await post('/__sim/config', { graceSeconds: 0 });
  const s = str((await stable('wxS')).body, 'access_token');
  await token('wxS');
  await token('wxS');
  assert.ok(await isValid(s), 'cgi-bin/token does not invalidate the stable token');
  assert.is((await ticket(s)).body.errcode, 0, 'a stable token is an access_token');
  // 5 s: the same token for its first 4 s (ample for the second call), a new one in its last second.
  await post('/__sim/apps', { appid: 'wxQuick', expiresIn: 5 });
  const asked = Date.now();
  const first = str((await stable('wxQuick')).body, 'access_token');
  assert.is((await stable('wxQuick')).body.access_token, first);
  await waitFor('a new stable token', async () => (await stable('wxQuick')).body.access_token !== first);
  assert.ok(Date.now() - asked >= 4_000, 'renewed only in the last 20 % of its life');
});

test('fault injection: errcode once, HTTP 500, delay, matching by appid and endpoint', async () => {
  await post('/__sim/faults', { endpoint: 'token', errcode: -1 });
  assert.equal((await token('wxA')).body, { errcode: -1, errmsg: 'system error' });
  assert.type((await token('wxA')).body.access_token, 'string', 'consumed after one use');

  await post('/__sim/faults', { endpoint: 'token', status: 500 });
  assert.is((await token('wxA')).status, 500);

  await post('/__sim/faults', { appid: 'wxB', errcode: 45011, times: 0 });
  assert.type((await token('wxA')).body.access_token, 'string', 'other appid untouched');
  assert.is((await token('wxB')).body.errcode, 45011);
  assert.is((await token('wxB')).body.errcode, 45011, 'times 0 lasts until cleared');
  await del('/__sim/faults');
  assert.type((await token('wxB')).body.access_token, 'string');

  await post('/__sim/faults', { endpoint: 'stable', delayMs: 300 });
  const started = Date.now();
  const delayed = await stable('wxS');
  assert.ok(Date.now() - started >= 280, 'delayed');
  assert.type(delayed.body.access_token, 'string', 'a delay-only fault still answers normally');
});

test('a hanging request never delays close()', async () => {
  const own = await startSimulator({ port: 0 });
  await fetch(`${own.url}/__sim/faults`, { method: 'POST', body: JSON.stringify({ hang: true }) });
  const hanging = fetch(`${own.url}/cgi-bin/token?grant_type=client_credential&appid=wx&secret=s`).then(
    () => 'answered',
    () => 'cut',
  );
  await sleep(100);
  // The client would wait minutes for the hanging answer; close() must not.
  const deadline = new Promise<boolean>((r) => setTimeout(r, 10_000, false).unref());
  const closed = await Promise.race([own.close().then(() => true), deadline]);
  assert.ok(closed, 'close() returned while a request hung');
  assert.is(await hanging, 'cut');
});

test('stats count every WeChat request, failed ones included, per endpoint and app', async () => {
  const at = str((await token('wxA')).body, 'access_token');
  await token('wxA', 'wrong');
  await ticket(at);
  await ticket('unknown');
  const cat = str((await component('wxC', 't')).body, 'component_access_token');
  await authorizer(cat, 'wxC', 'wxAuth', 'rt');
  await oauth('wxA', 'rt');
  await stable('wxA');
  const s = (await get('/__sim/stats')).body;
  assert.is(s.total, 8);
  const none = { query_auth: 0, authorizer_list: 0, start_push_ticket: 0, clear_quota: 0 };
  assert.equal(s.calls, { token: 2, ticket: 2, oauth: 1, component: 1, authorizer: 1, stable: 1, ...none });
  const byApp = s.byApp as Record<string, Json>;
  const app = (appid: string) => must(byApp[appid], `the calls of ${appid}`);
  assert.equal(app('wxA'), { token: 2, ticket: 1, oauth: 1, component: 0, authorizer: 0, stable: 1, ...none });
  assert.is(app('wxC').component, 1);
  assert.is(app('wxC').authorizer, 1);
  assert.is(app('wxAuth').authorizer, 1);
  await post('/__sim/reset', {});
  assert.is((await get('/__sim/stats')).body.total, 0);
});

test("stats count TCP connections open at once (a client's outbound concurrency)", async () => {
  await post('/__sim/reset', {});
  const base = ((await get('/__sim/stats')).body.connections as { open: number }).open;
  // Three raw keep-alive connections, each with one answered request, then closed.
  const sockets = await Promise.all(
    [0, 1, 2].map(async () => {
      const s = connect(sim.port, '127.0.0.1');
      await once(s, 'connect');
      s.write(`GET /cgi-bin/token?grant_type=client_credential&appid=wxConn&secret=s1 HTTP/1.1\r\nHost: x\r\n\r\n`);
      await once(s, 'data');
      return s;
    }),
  );
  const during = (await get('/__sim/stats')).body.connections as { open: number; max: number };
  assert.is(during.open, base + 3, `open ${JSON.stringify(during)}`);
  assert.is(during.max, base + 3, `max ${JSON.stringify(during)}`);
  for (const s of sockets) s.destroy();
  const deadline = Date.now() + 10_000;
  let after = during;
  while (Date.now() < deadline && after.open > base) {
    await sleep(50);
    after = (await get('/__sim/stats')).body.connections as { open: number; max: number };
  }
  assert.is(after.open, base, `closed sockets still counted: ${JSON.stringify(after)}`);
  assert.is(after.max, during.max, 'max keeps the peak');
  await post('/__sim/reset', {});
  const reset = (await get('/__sim/stats')).body.connections as { open: number; max: number };
  assert.equal(reset, { open: base, max: base }, 'reset lowers max to what is open');
});

test('admin: latest token, 400 for bad bodies, 404 for unknown routes', async () => {
  assert.is((await get('/__sim/latest?kind=access_token&owner=wxA')).status, 404);
  const at = str((await token('wxA')).body, 'access_token');
  const latest = await get('/__sim/latest?kind=access_token&owner=wxA');
  assert.is(latest.body.token, at);
  assert.type(latest.body.expiresAt, 'number');
  assert.is((await get('/__sim/latest?kind=nope&owner=wxA')).status, 400);
  for (const [path, body] of [
    ['/__sim/config', { graceSecond: 1 }],
    ['/__sim/config', { expiresIn: 'long' }],
    ['/__sim/apps', { secret: 'x' }],
    ['/__sim/refresh-tokens', { token: 'x', kind: 'sms' }],
    ['/__sim/tickets', { ticket: 't', state: 'gone' }],
    ['/__sim/faults', { endpoint: 'token' }],
    ['/__sim/faults', [1]],
  ] as const) {
    const r = await post(path, body);
    assert.is(r.status, 400, `${path} ${JSON.stringify(body)}`);
    assert.type(r.body.error, 'string');
  }
  const bad = await call('/__sim/apps', { method: 'POST', body: 'not json' });
  assert.is(bad.status, 400);
  const missing = await get('/__sim/unknown');
  assert.is(missing.status, 404);
  assert.type(missing.body.error, 'string');
  const apps = await post('/__sim/apps', { appid: 'wxZ', secret: 'hidden' });
  assert.not.ok(JSON.stringify(apps.body).includes('hidden'), 'secrets are never echoed');
});

test('runSimulatorCli prints one JSON line and exits 0 on SIGTERM', async () => {
  const script = "import('./lib/simulator/index.ts').then((m) => m.runSimulatorCli({ port: 0, host: '127.0.0.1' }))";
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('..', import.meta.url),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const [line] = (await once(lines, 'line')) as [string];
  const announced = JSON.parse(line) as Json;
  assert.is(announced.level, 'info');
  assert.is(announced.msg, 'simulator listening');
  assert.is(announced.url, `http://127.0.0.1:${String(announced.port)}`);
  const r = await fetch(`${str(announced, 'url')}/__sim/stats`);
  assert.is(r.status, 200);
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.is(code, 0);
});

test.run();
