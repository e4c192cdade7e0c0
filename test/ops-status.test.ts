// docs/api.md §5 GET /apps and GET /apps/:appid: per task its state, times, last
// error and counts, never a secret or a token value, paged by appid.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Business, startBusiness } from './helpers/business.js';
import { waitFor } from './helpers/poll.js';
import { RunningServer, startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

interface TaskStatus {
  type: number;
  name: string;
  authorizer_appid: string | null;
  openid: string | null;
  state: string;
  expires_at: string | null;
  refreshed_at: string | null;
  next_refresh_at: string | null;
  last_error: string | null;
  fetch_count: number;
  fail_count: number;
}
interface AppStatus {
  appid: string;
  tasks: TaskStatus[];
}
interface Page {
  total: number;
  next: string | null;
  apps: AppStatus[];
}

const ADMIN = 't-admin-status';
const SCOPED = 't-scoped-status';
const SECRETS = {
  wxsA: 'sec-status-A-1d9e',
  wxsB: 'sec-status-B-77f0',
  wxsC: 'sec-status-C-c3b1',
  wxsFail: 'sec-status-wrong-0b5e',
};
let sim: Sim;
let biz: Business;
let srv: RunningServer;

test.before(async () => {
  sim = await startSim();
  biz = await startBusiness();
  const config = join(tempDir(), 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      tokens: [{ token: ADMIN }, { token: SCOPED, appids: ['wxsA', 'wxsC', 'wxsNotRegistered'], readOnly: true }],
    }),
  );
  srv = await startServer({ wechatApi: sim.url, args: ['--config', config], token: ADMIN });
});
test.after(async () => {
  await stopAll();
  await biz.close();
  await sim.close();
});

const value = (appid: string, type: number, q = '') => srv.api.awaitValue(appid, type, q);
const appStatus = async (appid: string) => {
  const r = await srv.api.get(`/apps/${appid}`);
  assert.is(r.status, 200, r.text);
  return r.body.result as AppStatus;
};
const task = (a: AppStatus, type: number, sub?: string) =>
  a.tasks.find((t) => t.type === type && (sub === undefined || t.authorizer_appid === sub || t.openid === sub))!;

test("a full scenario: every task's state, times, last error and counts; no secret and no value anywhere in /apps", async () => {
  await sim.addApp({ appid: 'wxsFail', secret: 'the-real-secret' });
  await srv.api.register({
    appid: 'wxsA',
    appsecret: SECRETS.wxsA,
    tasks: [{ type: 0, notify: `${biz.url}/n` }, { type: 1 }],
  });
  await srv.api.register({
    appid: 'wxsB',
    appsecret: SECRETS.wxsB,
    tasks: [{ type: 2, openid: 'user-1', params: { refresh_token: 'rt-status-user-1' } }],
  });
  await srv.api.register({
    appid: 'wxsC',
    appsecret: SECRETS.wxsC,
    tasks: [
      { type: 3, params: { component_verify_ticket: 'ticket@@@status' } },
      { type: 4, authorizer_appid: 'wxsAuth', params: { authorizer_refresh_token: 'art-status-1' } },
    ],
  });
  await srv.api.register({ appid: 'wxsFail', appsecret: SECRETS.wxsFail, tasks: [{ type: 0 }, { type: 1 }] });
  const values = [
    await value('wxsA', 0),
    await value('wxsA', 1),
    await value('wxsB', 2, '?openid=user-1'),
    await value('wxsC', 3),
    await value('wxsC', 4),
  ];
  const failing = await waitFor('wxsFail to be failing', async () => {
    const a = await appStatus('wxsFail');
    return task(a, 0).state === 'failing' ? a : undefined;
  });

  const a = await appStatus('wxsA');
  assert.equal(
    a.tasks.map((t) => [t.type, t.name, t.state]),
    [
      [0, 'access_token', 'ready'],
      [1, 'jsapi_ticket', 'ready'],
    ],
  );
  const t0 = task(a, 0);
  const now = Date.now();
  assert.ok(Date.parse(t0.expires_at!) > now, 'expires in the future');
  assert.ok(Date.parse(t0.refreshed_at!) <= now);
  assert.ok(
    Date.parse(t0.next_refresh_at!) > now && Date.parse(t0.next_refresh_at!) < Date.parse(t0.expires_at!),
    'refresh is planned before expiry',
  );
  assert.is(t0.last_error, null);
  assert.is(t0.fetch_count, 1);
  assert.is(t0.fail_count, 0);
  assert.equal(Object.keys(t0).sort(), [
    'authorizer_appid',
    'expires_at',
    'fail_count',
    'fetch_count',
    'last_error',
    'name',
    'next_refresh_at',
    'openid',
    'refreshed_at',
    'state',
    'type',
  ]);

  const b = task(await appStatus('wxsB'), 2);
  assert.is(b.openid, 'user-1');
  assert.is(b.state, 'ready');
  const c = await appStatus('wxsC');
  assert.is(task(c, 3).state, 'ready');
  assert.is(task(c, 4).authorizer_appid, 'wxsAuth');
  assert.is(task(c, 4).name, 'authorizer_access_token');

  const f0 = task(failing, 0);
  assert.match(f0.last_error!, /40125/);
  assert.ok(f0.fail_count >= 1);
  assert.is(f0.fetch_count, 0);
  assert.is(f0.expires_at, null);
  assert.ok(Date.parse(f0.next_refresh_at!) > Date.now(), 'the next retry is planned');
  const f1 = task(failing, 1);
  assert.is(f1.state, 'pending', 'the ticket waits for an access_token that never came');
  assert.match(f1.last_error!, /waiting for this app's access_token/);

  // Everything /apps says, in one text: no secret, no value, no refresh token or ticket.
  const list = await srv.api.get('/apps?limit=1000');
  const text = list.text + JSON.stringify(await Promise.all(['wxsA', 'wxsB', 'wxsC', 'wxsFail'].map(appStatus)));
  const latestStable = await Promise.all(
    [
      ['access_token', 'wxsA'],
      ['jsapi_ticket', 'wxsA'],
      ['component_access_token', 'wxsC'],
      ['authorizer_access_token', 'wxsAuth'],
    ].map(
      async ([kind, owner]) =>
        ((await (await fetch(`${sim.url}/__sim/latest?kind=${kind}&owner=${owner}`)).json()) as { token: string })
          .token,
    ),
  );
  const forbidden = [
    ...Object.values(SECRETS),
    'the-real-secret',
    ...values,
    ...latestStable,
    'rt-status-user-1',
    'art-status-1',
    'ticket@@@status',
  ];
  for (const f of forbidden) assert.not.ok(text.includes(f), `/apps shows ${f.slice(0, 12)}…`);
  // The rotated refresh tokens WeChat handed out are not there either.
  assert.not.match(text, /refresh_token"/);
});

test('/apps pages through every app exactly once, in appid order', async () => {
  const extra = Array.from({ length: 23 }, (_, i) => `wxsPage${String(i).padStart(2, '0')}`);
  await Promise.all(extra.map((appid) => srv.api.register({ appid, appsecret: `s-${appid}`, tasks: [{ type: 0 }] })));
  const whole = (await srv.api.get('/apps?limit=1000')).body.result as Page;
  const expected = whole.apps.map((x) => x.appid);
  assert.equal(expected, [...expected].sort(), 'sorted by appid');
  assert.ok(expected.length >= 27);
  assert.is(whole.total, expected.length);
  assert.is(whole.next, null);
  const seen: string[] = [];
  let after: string | null = '';
  let pages = 0;
  while (after !== null) {
    const r = await srv.api.get(`/apps?limit=7${after ? `&after=${after}` : ''}`);
    assert.is(r.status, 200, r.text);
    const page = r.body.result as Page;
    assert.ok(page.apps.length <= 7);
    assert.is(page.total, expected.length);
    seen.push(...page.apps.map((x) => x.appid));
    after = page.next;
    pages++;
  }
  assert.equal(seen, expected, 'every app once, in order');
  assert.is(pages, Math.ceil(expected.length / 7));
  // An `after` that is not a registered appid still continues from its place in the order.
  const mid = (await srv.api.get('/apps?limit=2&after=wxsPage05x')).body.result as Page;
  assert.equal(
    mid.apps.map((x) => x.appid),
    ['wxsPage06', 'wxsPage07'],
  );
  const end = (await srv.api.get('/apps?after=zzz')).body.result as Page;
  assert.equal([end.apps.length, end.next], [0, null], 'past the last appid: an empty page');
});

test('bad paging parameters and unknown apps get the envelope', async () => {
  for (const q of [
    'limit=0',
    'limit=1001',
    'limit=abc',
    'limit=-1',
    'limit=1&limit=2',
    'after=a&after=b',
    `after=${'x'.repeat(200)}`,
  ]) {
    const r = await srv.api.get(`/apps?${q}`);
    assert.is(r.status, 400, q);
    assert.is(r.body.code, 400, q);
    assert.match(r.body.message as string, /limit must be an integer from 1 to 1000|after must be given once/, q);
  }
  const r = await srv.api.get('/apps/wxsNope');
  assert.is(r.status, 404);
  assert.match(r.body.message as string, /App wxsNope is not registered/);
});

test('a token scoped to some appids sees only those in /apps', async () => {
  const page = (await srv.api.get('/apps', { token: SCOPED })).body.result as Page;
  assert.equal(
    page.apps.map((x) => x.appid),
    ['wxsA', 'wxsC'],
  );
  assert.is(page.total, 2);
  assert.is((await srv.api.get('/apps/wxsB', { token: SCOPED })).status, 403);
  assert.is((await srv.api.get('/apps/wxsA', { token: SCOPED })).status, 200);
});

test.run();
