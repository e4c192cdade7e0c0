// docs/api.md §4 and §3 error classes: refresh on schedule, never an expired
// value, back-off after transient failures and hangs, configuration errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { at } from './helpers/must.js';
import { Json } from './helpers/http.js';
import { sleep, waitFor } from './helpers/poll.js';
import { RunningServer, startServer, stopAll } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

let sim: Sim;
let srv: RunningServer;

test.before(async () => {
  sim = await startSim();
  // A short WeChat timeout so that a hanging call is cut within the test's patience.
  srv = await startServer({ wechatApi: sim.url, args: ['--wechat-timeout', '1000'] });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

/** The app's only task as GET /apps/:appid shows it. */
const status = async (appid: string) =>
  at(((await srv.api.get(`/apps/${appid}`)).body.result as { tasks: Json[] }).tasks, 0, `task of ${appid}`);

test('expires_in 4 s: refreshed on schedule, and a 250 ms poll never gets an expired or replaced value', async () => {
  await sim.addApp({ appid: 'wxshort', secret: 'ss', expiresIn: 4 });
  await srv.api.register({ appid: 'wxshort', appsecret: 'ss', tasks: [{ type: 0 }, { type: 1 }] });
  await waitFor('first values', async () => (await srv.api.get('/task/wxshort/1')).status === 200);
  const seen = new Set<string>();
  const until = Date.now() + 11_000;
  let polls = 0;
  while (Date.now() < until) {
    for (const type of [0, 1]) {
      const askedAt = Date.now();
      const r = await srv.api.get(`/task/wxshort/${type}`);
      assert.is(r.status, 200, `poll ${polls} type ${type}: ${r.text}`);
      const v = r.body.result as string;
      const ok = await sim.validWhenAsked(v, askedAt);
      assert.ok(
        ok,
        `poll ${polls}: served ${type === 0 ? 'token' : 'ticket'} ${v} was not valid at WeChat when asked for`,
      );
      seen.add(v);
    }
    polls++;
    await sleep(250);
  }
  // 11 s of 4 s tokens refreshed 0.8 s before expiry: at least 3 values per type (the first, then every ~3.2 s).
  assert.ok(seen.size >= 6, `expected ≥ 6 distinct values, saw ${seen.size} in ${polls} polls`);
  const stats = await sim.calls('wxshort');
  assert.ok(stats.token >= 3 && stats.token <= 6, `token fetches on schedule, not more: ${stats.token}`);
  const t0 = await status('wxshort');
  assert.is(t0.state, 'ready');
  const next = Date.parse(t0.next_refresh_at as string);
  const expires = Date.parse(t0.expires_at as string);
  // Refresh 20 % of 4 s = 0.8 s before expiry, minus at most 5 % jitter.
  assert.ok(expires - next >= 790 && expires - next <= 1_050, `refresh margin ${expires - next} ms`);
});

test('errcode -1 is retried with back-off from within 2 s, then the value arrives', async () => {
  await sim.fault({ endpoint: 'token', appid: 'wxbusy', errcode: -1, errmsg: 'system error', times: 3 });
  const started = Date.now();
  await srv.api.register({ appid: 'wxbusy', appsecret: 'sb', tasks: [{ type: 0 }] });
  const failing = await waitFor('the failing state', async () => {
    const t = await status('wxbusy');
    return t.state === 'failing' ? t : undefined;
  });
  assert.match(String(failing.last_error), /-1|system error/);
  const mid = await srv.api.get('/task/wxbusy/0');
  if (mid.status === 503) {
    assert.ok(Number(mid.headers.get('retry-after')) >= 1, 'Retry-After header');
    assert.match(mid.body.message as string, /system error|-1/);
  }
  await waitFor(
    'the value after three failures',
    async () => (await srv.api.get('/task/wxbusy/0')).status === 200,
    30_000,
  );
  const elapsed = Date.now() - started;
  // Back-off 1 s, 2 s, 4 s between the four calls: about 7 s, certainly more than 3 s and far less than the 300 s cap.
  assert.ok(elapsed >= 3_000, `retries backed off (${elapsed} ms)`);
  assert.is((await sim.calls('wxbusy')).token, 4);
  const t = await status('wxbusy');
  assert.is(t.state, 'ready');
  assert.is(t.fail_count, 3);
});

test('a hanging WeChat call is cut by the timeout and retried; other apps are not delayed', async () => {
  await sim.fault({ endpoint: 'token', appid: 'wxhang', hang: true, times: 2 });
  await srv.api.register({ appid: 'wxhang', appsecret: 'sh', tasks: [{ type: 0 }] });
  await srv.api.register({ appid: 'wxcalm', appsecret: 'sc', tasks: [{ type: 0 }] });
  await waitFor('the unaffected app', async () => (await srv.api.get('/task/wxcalm/0')).status === 200, 5_000);
  const failing = await waitFor('a timeout error', async () => {
    const t = await status('wxhang');
    return t.state === 'failing' ? t : undefined;
  });
  assert.match(String(failing.last_error), /time|abort/i);
  await waitFor('the value after the hangs', async () => (await srv.api.get('/task/wxhang/0')).status === 200, 30_000);
  assert.is((await sim.calls('wxhang')).token, 3);
});

test('a wrong appsecret: 503 naming the WeChat error, Retry-After, and the secret nowhere in the answers', async () => {
  await sim.addApp({ appid: 'wxwrong', secret: 'the-right-one' });
  const secret = 'Wr0ng-Secret-7c1d';
  await srv.api.register({ appid: 'wxwrong', appsecret: secret, tasks: [{ type: 0 }] });
  const r = await waitFor('a 503 with the WeChat error', async () => {
    const x = await srv.api.get('/task/wxwrong/0');
    return x.status === 503 && /40125|invalid appsecret/.test(x.body.message as string) ? x : undefined;
  });
  assert.is(r.body.code, 503);
  assert.is(r.body.result, null);
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
  const apps = await srv.api.get('/apps/wxwrong');
  assert.is(at((apps.body.result as { tasks: Json[] }).tasks, 0, 'task').state, 'failing');
  // The shard announces the error before it logs it: wait for the line the scan is about.
  await waitFor('the fetch failed line', () =>
    srv.logs().some((l) => l.msg === 'fetch failed' && l.appid === 'wxwrong'),
  );
  for (const text of [r.text, apps.text, (await srv.api.get('/apps')).text, srv.output()])
    assert.not.ok(text.includes(secret), 'secret leaked');
  // A configuration error is retried at the 300 s cap, not hammered.
  const calls = (await sim.calls('wxwrong')).token;
  await sleep(2_500);
  assert.is((await sim.calls('wxwrong')).token, calls, 'no retry within seconds');
  // A new registration with the right secret retries at once.
  await srv.api.register({ appid: 'wxwrong', appsecret: 'the-right-one', tasks: [{ type: 0 }] });
  await waitFor(
    'the value with the right secret',
    async () => (await srv.api.get('/task/wxwrong/0')).status === 200,
    10_000,
  );
});

test('a component without a valid verify ticket is failing with 61006 until a new ticket arrives', async () => {
  await sim.ticket('bad-ticket', 'invalid');
  await srv.api.register({
    appid: 'wxcompt',
    appsecret: 'ct',
    tasks: [{ type: 3, params: { component_verify_ticket: 'bad-ticket' } }],
  });
  const r = await waitFor('61006 in the answer', async () => {
    const x = await srv.api.get('/task/wxcompt/3');
    return x.status === 503 && /61006/.test(x.body.message as string) ? x : undefined;
  });
  assert.is(r.status, 503);
  await srv.api.register({
    appid: 'wxcompt',
    appsecret: 'ct',
    tasks: [{ type: 3, params: { component_verify_ticket: 'good-ticket' } }],
  });
  await waitFor(
    'the value with the new ticket',
    async () => (await srv.api.get('/task/wxcompt/3')).status === 200,
    10_000,
  );
});

test.run();
