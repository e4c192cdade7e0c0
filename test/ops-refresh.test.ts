// docs/api.md §5 POST /task/:appid/:type/refresh: the passive refresh a business
// system calls when WeChat answered 40001. A compare-and-swap on `stale`,
// concurrent calls sharing one WeChat fetch, a per-task interval for calls
// without `stale`, and dependents left alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { at } from './helpers/must.js';
import { Reply } from './helpers/http.js';
import { sleep, waitFor } from './helpers/poll.js';
import { RunningServer, startServer, stopAll } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

/** Long enough that the "early" calls land inside it even on a loaded CI machine. */
const INTERVAL_MS = 5000;
let sim: Sim;
let srv: RunningServer;

test.before(async () => {
  sim = await startSim();
  srv = await startServer({ wechatApi: sim.url, args: ['--refresh-interval', String(INTERVAL_MS)] });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

const value = (appid: string, type: number, q = '') => srv.api.awaitValue(appid, type, q);
const refresh = (path: string, body?: unknown) => srv.api.post(path, body);
const outcome = (r: Reply) => r.headers.get('x-scheduler-refresh');

test('10 concurrent refreshes with the same stale value share exactly one WeChat fetch', async () => {
  await srv.api.register({ appid: 'wxref10', appsecret: 'sref10', tasks: [{ type: 0 }] });
  const old = await value('wxref10', 0);
  const before = await sim.calls('wxref10');
  const replies = await Promise.all(
    Array.from({ length: 10 }, () => refresh('/task/wxref10/0/refresh', { stale: old })),
  );
  for (const r of replies) assert.is(r.status, 200, r.text);
  const values = new Set(replies.map((r) => r.body.result));
  assert.is(values.size, 1, 'every caller gets the same new value');
  const first = at(replies, 0, 'reply');
  const fresh = first.body.result as string;
  assert.is.not(fresh, old);
  assert.ok(await sim.valid(fresh), 'the new value is current at WeChat');
  assert.equal(first.body, { code: 200, message: '', result: fresh }, 'answers like GET /task');
  assert.ok(replies.some((r) => outcome(r) === 'fetched'));
  // A caller that arrived after the fetch landed sees a stale value that is no longer current.
  for (const r of replies) assert.ok(['fetched', 'current'].includes(outcome(r)!), `outcome ${outcome(r)}`);
  const after = await sim.calls('wxref10');
  assert.is(after.token - before.token, 1, 'exactly one WeChat fetch');
  assert.is(await value('wxref10', 0), fresh, 'GET /task serves the new value at once');
});

test('a stale value that is not the current one fetches nothing and returns the current value', async () => {
  const current = await value('wxref10', 0);
  const before = await sim.calls('wxref10');
  for (const stale of ['AT_some_value_we_never_had', 'x']) {
    const r = await refresh('/task/wxref10/0/refresh', { stale });
    assert.is(r.status, 200, r.text);
    assert.is(r.body.result, current);
    assert.is(outcome(r), 'current');
    assert.match(r.headers.get('x-scheduler-refresh-note') ?? '', /not the current value/);
  }
  assert.equal(await sim.calls('wxref10'), before, 'no WeChat call at all');
});

test(`without stale: at most one fetch per task per --refresh-interval (${INTERVAL_MS} ms), the current value otherwise`, async () => {
  // The fetch that registering starts begins after this moment: the interval counts from it.
  const registeredAt = Date.now();
  await srv.api.register({ appid: 'wxrefint', appsecret: 'sint', tasks: [{ type: 0 }] });
  const first = await value('wxrefint', 0);
  const base = await sim.calls('wxrefint');
  assert.is(base.token, 1);
  // Within the interval of the registration's own fetch: the current value, nothing fetched.
  const early = await Promise.all(Array.from({ length: 5 }, () => refresh('/task/wxrefint/0/refresh')));
  for (const r of early) {
    assert.is(r.status, 200, r.text);
    assert.is(r.body.result, first);
    assert.is(outcome(r), 'current');
  }
  assert.match(at(early, 0, 'early reply').headers.get('x-scheduler-refresh-note') ?? '', /at most once per 5 s/);
  assert.is((await sim.calls('wxrefint')).token, 1, 'no fetch inside the interval');
  // Keep asking: the first fetch happens only once the interval has passed.
  const fetched = await waitFor(
    'a fetch once the interval passed',
    async () => {
      const r = await refresh('/task/wxrefint/0/refresh');
      assert.is(r.status, 200, r.text);
      return outcome(r) === 'fetched' ? r : undefined;
    },
    20_000,
    200,
  );
  assert.ok(Date.now() - registeredAt >= INTERVAL_MS, 'not before the interval');
  const second = fetched.body.result as string;
  assert.is.not(second, first);
  assert.is((await sim.calls('wxrefint')).token, 2, 'one fetch');
  // And at once again: concurrent callers within the new interval get that value, nothing more.
  const again = await Promise.all(Array.from({ length: 5 }, () => refresh('/task/wxrefint/0/refresh')));
  for (const r of again) assert.is(r.body.result, second);
  assert.is((await sim.calls('wxrefint')).token, 2);
});

test('a refreshed access_token leaves the jsapi_ticket alone; a refreshed component token leaves the authorizer tokens alone', async () => {
  await srv.api.register({ appid: 'wxrefdep', appsecret: 'sdep', tasks: [{ type: 0 }, { type: 1 }] });
  const token = await value('wxrefdep', 0);
  const ticket = await value('wxrefdep', 1);
  const before = await sim.calls('wxrefdep');
  const r = await refresh('/task/wxrefdep/0/refresh', { stale: token });
  assert.is(r.status, 200, r.text);
  assert.is.not(r.body.result, token);
  await sleep(500); // give a (wrong) dependent refetch the chance to happen
  assert.is(await value('wxrefdep', 1), ticket, 'the ticket is unchanged');
  assert.ok(await sim.valid(ticket), 'and still valid at WeChat');
  const after = await sim.calls('wxrefdep');
  assert.is(after.token - before.token, 1);
  assert.is(after.ticket - before.ticket, 0, 'getticket was not called');

  await srv.api.register({
    appid: 'wxrefcomp',
    appsecret: 'scomp',
    tasks: [
      { type: 3, params: { component_verify_ticket: 'ticket@@@refcomp' } },
      { type: 4, authorizer_appid: 'wxrefauth1', params: { authorizer_refresh_token: 'art-ref-1' } },
      { type: 4, authorizer_appid: 'wxrefauth2', params: { authorizer_refresh_token: 'art-ref-2' } },
    ],
  });
  const cat = await value('wxrefcomp', 3);
  const a1 = await value('wxrefcomp', 4, '?authorizer_appid=wxrefauth1');
  const a2 = await value('wxrefcomp', 4, '?authorizer_appid=wxrefauth2');
  const cBefore = await sim.calls('wxrefcomp');
  const rc = await refresh('/task/wxrefcomp/3/refresh', { stale: cat });
  assert.is(rc.status, 200, rc.text);
  assert.is.not(rc.body.result, cat);
  await sleep(500);
  assert.is(await value('wxrefcomp', 4, '?authorizer_appid=wxrefauth1'), a1);
  assert.is(await value('wxrefcomp', 4, '?authorizer_appid=wxrefauth2'), a2);
  assert.ok(await sim.valid(a1));
  assert.ok(await sim.valid(a2));
  const cAfter = await sim.calls('wxrefcomp');
  assert.is(cAfter.component - cBefore.component, 1);
  assert.is(cAfter.authorizer - cBefore.authorizer, 0, 'no authorizer token was fetched');
  // One authorizer's token refreshed by its selector; the other untouched.
  const ra = await refresh('/task/wxrefcomp/4/refresh?authorizer_appid=wxrefauth1', { stale: a1 });
  assert.is(ra.status, 200, ra.text);
  assert.is.not(ra.body.result, a1);
  assert.ok(await sim.valid(ra.body.result as string));
  assert.is(await value('wxrefcomp', 4, '?authorizer_appid=wxrefauth2'), a2);
  assert.is((await sim.calls('wxrefcomp')).authorizer - cAfter.authorizer, 1);
});

test('a ticket refresh with its stale value fetches a new ticket with the current access_token', async () => {
  const ticket = await value('wxrefdep', 1);
  const before = await sim.calls('wxrefdep');
  const r = await refresh('/task/wxrefdep/1/refresh', { stale: ticket });
  assert.is(r.status, 200, r.text);
  assert.is.not(r.body.result, ticket);
  assert.ok(await sim.valid(r.body.result as string));
  const after = await sim.calls('wxrefdep');
  assert.is(after.ticket - before.ticket, 1);
  assert.is(after.token - before.token, 0);
});

test("a refresh whose fetch fails answers 503 with WeChat's error and Retry-After; the task recovers", async () => {
  await srv.api.register({ appid: 'wxreffail', appsecret: 'sfail', tasks: [{ type: 0 }] });
  const old = await value('wxreffail', 0);
  await sim.fault({ endpoint: 'token', appid: 'wxreffail', errcode: -1 });
  const r = await refresh('/task/wxreffail/0/refresh', { stale: old });
  assert.is(r.status, 503, r.text);
  assert.is(r.body.code, 503);
  assert.match(r.body.message as string, /errcode -1/);
  assert.is(outcome(r), 'failed');
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
  assert.not.match(r.text, /sfail/, 'no secret in the answer');
  // The back-off retry (first within 2 s) brings a new value.
  const fresh = await waitFor('the retry after the failure', async () => {
    const v = await value('wxreffail', 0);
    return v !== old ? v : undefined;
  });
  assert.ok(await sim.valid(fresh));
});

test('bad refresh requests get the envelope with a sentence, and change nothing', async () => {
  const current = await value('wxref10', 0);
  const before = await sim.calls('wxref10');
  const cases: Array<[string, Parameters<typeof srv.api.call>[2], number, RegExp]> = [
    ['stale a number', { body: { stale: 5 } }, 400, /stale must be/],
    ['stale null', { body: { stale: null } }, 400, /stale must be/],
    ['stale empty', { body: { stale: '' } }, 400, /stale must be/],
    ['stale too long', { body: { stale: 'x'.repeat(5000) } }, 400, /at most 4096/],
    ['an array body', { body: ['stale'] }, 400, /JSON object/],
    ['a JSON string body', { raw: '"stale"', headers: { 'content-type': 'application/json' } }, 400, /./],
    ['invalid JSON', { raw: '{"stale":', headers: { 'content-type': 'application/json' } }, 400, /JSON/],
    [
      'a form body',
      { raw: 'stale=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      415,
      /must be JSON/,
    ],
  ];
  for (const [what, opts, status, message] of cases) {
    const r = await srv.api.call('POST', '/task/wxref10/0/refresh', opts);
    assert.is(r.status, status, `${what}: ${r.text}`);
    assert.is(r.body.code, status, what);
    assert.match(r.body.message as string, message, what);
    assert.is(r.body.result, null, what);
  }
  const notFound = await refresh('/task/wxnosuchapp/0/refresh', { stale: 'x' });
  assert.is(notFound.status, 404);
  assert.is((await refresh('/task/wxref10/3/refresh', { stale: 'x' })).status, 404, 'no task of that type');
  assert.is((await refresh('/task/wxref10/9/refresh', { stale: 'x' })).status, 400, 'type not 0-5');
  const ambiguous = await refresh('/task/wxrefcomp/4/refresh', { stale: 'x' });
  assert.is(ambiguous.status, 400);
  assert.match(ambiguous.body.message as string, /authorizer_appid/);
  assert.is((await srv.api.get('/task/wxref10/0/refresh')).status, 405, 'GET is not allowed');
  assert.equal(await sim.calls('wxref10'), before, 'nothing fetched');
  assert.is(await value('wxref10', 0), current);
});

test.run();
