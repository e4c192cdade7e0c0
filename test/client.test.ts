// The Node client (`wechat-scheduler/client`, imported through the package's
// own exports, so the built JS and its .d.ts are what is tested) against the
// real server and the WeChat simulator.
import { createHash } from 'node:crypto';
import { createServer, Server } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SchedulerClient, SchedulerError, SchedulerUnreachableError } from 'wechat-scheduler/client';
import { parseProm, sum } from './helpers/prom.js';
import { RunningServer, startServer, stopAll } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const TOKEN = 'client-test-token';
let sim: Sim;
let srv: RunningServer;
let client: SchedulerClient;

test.before(async () => {
  sim = await startSim();
  srv = await startServer({ wechatApi: sim.url, args: ['--token', TOKEN], token: TOKEN });
  client = new SchedulerClient({ url: srv.url, token: TOKEN });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

/** Requests the server counted for the task routes (GET /task and POST …/refresh), from /metrics. */
async function taskRequests(): Promise<number> {
  const m = parseProm((await srv.api.get('/metrics')).text);
  return (
    sum(m, 'wechat_scheduler_http_requests_total', { route: '/task/:appid/:type' }) +
    sum(m, 'wechat_scheduler_http_requests_total', { route: '/task/:appid/:type/refresh' })
  );
}

/** A WeChat API call made with the token, as a business system would: getticket answers errcode 0 or 40001. */
async function getticket(token: string): Promise<{ errcode: number; ticket?: string }> {
  const r = await fetch(`${sim.url}/cgi-bin/ticket/getticket?access_token=${encodeURIComponent(token)}&type=jsapi`);
  return (await r.json()) as { errcode: number; ticket?: string };
}

test('40 token() calls (20 at once, then 20 in turn) cause at most two HTTP requests', async () => {
  await srv.api.register({ appid: 'wxcli40', appsecret: 's', tasks: [{ type: 0 }] });
  const expected = await srv.api.awaitValue('wxcli40', 0);
  const fresh = new SchedulerClient({ url: srv.url, token: TOKEN });
  const before = await taskRequests();
  const together = await Promise.all(Array.from({ length: 20 }, () => fresh.token('wxcli40')));
  const inTurn: string[] = [];
  for (let i = 0; i < 20; i++) inTurn.push(await fresh.token('wxcli40', { type: 0 }));
  const requests = (await taskRequests()) - before;
  for (const v of [...together, ...inTurn]) assert.is(v, expected);
  assert.ok(requests >= 1 && requests <= 2, `${requests} HTTP requests for 40 token() calls`);
});

test('a cached value is used until shortly before expires_at (injected clock), then asked for again', async () => {
  let now = Date.now();
  const timed = new SchedulerClient({ url: srv.url, token: TOKEN, now: () => now, refreshMarginMs: 60_000 });
  const before = await taskRequests();
  const d = await timed.detail('wxcli40');
  now = d.expiresAt.getTime() - 61_000; // just outside the margin: still cached
  await timed.token('wxcli40');
  assert.is((await taskRequests()) - before, 1, 'one request while the value is fresh');
  now = d.expiresAt.getTime() - 59_000; // inside the last minute: asked again
  await timed.token('wxcli40');
  assert.is((await taskRequests()) - before, 2, 'a second request once inside the margin');
});

test("withToken(): a WeChat 40001 costs exactly one WeChat token call and returns the second run's result", async () => {
  await srv.api.register({ appid: 'wxcliwt', appsecret: 's', tasks: [{ type: 0 }] });
  const first = await client.token('wxcliwt');
  const before = await sim.calls('wxcliwt');
  await sim.fault({ endpoint: 'ticket', appid: 'wxcliwt', errcode: 40001 });
  const seen: string[] = [];
  const results: Array<{ errcode: number; ticket?: string }> = [];
  const result = await client.withToken('wxcliwt', {}, async (token) => {
    seen.push(token);
    const r = await getticket(token);
    results.push(r);
    return r;
  });
  const after = await sim.calls('wxcliwt');
  assert.is(seen.length, 2, 'fn ran twice');
  assert.is(seen[0], first);
  assert.is.not(seen[1], first, 'the second run had a new token');
  assert.is(results[0]?.errcode, 40001);
  assert.is(result, results[1], "the second run's result is returned");
  assert.is(result.errcode, 0);
  assert.ok(result.ticket);
  assert.is(after.token - before.token, 1, 'exactly one WeChat token call');
  assert.is(await srv.api.value('wxcliwt', 0), seen[1], 'the server serves the new token');
  assert.is(await client.token('wxcliwt'), seen[1], 'the client cached the new token');
});

test('withToken(): an error thrown with errcode 42001 refreshes; so does any thrown error, once', async () => {
  const before = await sim.calls('wxcliwt');
  let runs = 0;
  const out = await client.withToken('wxcliwt', { type: 0 }, (token) => {
    runs++;
    if (runs === 1) throw Object.assign(new Error('access_token expired'), { code: 42001 });
    return token;
  });
  assert.is(runs, 2);
  assert.is(out, await srv.api.value('wxcliwt', 0));
  assert.is((await sim.calls('wxcliwt')).token - before.token, 1);

  // A plain error (an SDK that only says "40001" in its text): one refresh, one more run.
  const mid = await sim.calls('wxcliwt');
  let plainRuns = 0;
  const second = await client.withToken('wxcliwt', {}, (token) => {
    plainRuns++;
    if (plainRuns === 1) throw new Error('invalid credential, access_token is invalid or not latest');
    return token;
  });
  assert.is(plainRuns, 2);
  assert.is(second, await srv.api.value('wxcliwt', 0));
  assert.is((await sim.calls('wxcliwt')).token - mid.token, 1);

  // The second run's error is final: no third run, no second refresh.
  const late = await sim.calls('wxcliwt');
  const boom = new Error('still failing');
  let failingRuns = 0;
  try {
    await client.withToken('wxcliwt', {}, () => {
      failingRuns++;
      throw boom;
    });
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.is(err, boom);
  }
  assert.is(failingRuns, 2);
  assert.is((await sim.calls('wxcliwt')).token - late.token, 1);
});

test('jsapiSignature() matches an independent SHA-1 of the JS-SDK string', async () => {
  await srv.api.register({ appid: 'wxclijs', appsecret: 's', tasks: [{ type: 0 }, { type: 1 }] });
  const ticket = await srv.api.awaitValue('wxclijs', 1);
  const page = 'https://biz.example.com/pay?order=1&from=singlemessage';
  const sig = await client.jsapiSignature('wxclijs', `${page}#/step2`);
  assert.is(sig.appId, 'wxclijs');
  assert.ok(
    Number.isInteger(sig.timestamp) && Math.abs(sig.timestamp - Date.now() / 1000) < 3600,
    `timestamp ${sig.timestamp}`,
  );
  assert.match(sig.nonceStr, /^[A-Za-z0-9]{8,32}$/);
  const text = ['jsapi_ticket=' + ticket, 'noncestr=' + sig.nonceStr, 'timestamp=' + sig.timestamp, 'url=' + page].join(
    '&',
  );
  assert.is(sig.signature, createHash('sha1').update(text, 'utf8').digest('hex'));
});

test("an unknown app rejects with a SchedulerError: code 404 and the server's sentence", async () => {
  const plain = await srv.api.get('/task/wxnotthere/0');
  assert.is(plain.status, 404);
  try {
    await client.token('wxnotthere');
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.instance(err, SchedulerError);
    const e = err as SchedulerError;
    assert.is(e.code, 404);
    assert.is(e.message, plain.body.message);
    assert.is(e.message, 'App wxnotthere is not registered.');
  }
  const bad = new SchedulerClient({ url: srv.url, token: 'wrong' });
  const denied = await bad.token('wxcli40').catch((e: unknown) => e);
  assert.instance(denied, SchedulerError);
  assert.is((denied as SchedulerError).code, 401);
});

test('a 503 with Retry-After is retried until the value exists', async () => {
  // The first two token fetches fail: the server answers 503 with Retry-After until its back-off retry succeeds.
  await sim.fault({ endpoint: 'token', appid: 'wxcli503', errcode: -1, times: 2 });
  const log503 = () => srv.logs().filter((l) => l.route === '/task/:appid/:type' && l.status === 503).length;
  const before = log503();
  await srv.api.register({ appid: 'wxcli503', appsecret: 's', tasks: [{ type: 0 }] });
  const patient = new SchedulerClient({ url: srv.url, token: TOKEN, retries: 30, maxRetryWaitMs: 10_000 });
  const value = await patient.token('wxcli503');
  assert.is(value, await srv.api.value('wxcli503', 0));
  assert.ok(log503() - before >= 1, 'the server answered 503 at least once before the value');
  // With no retries left, the 503 is the caller's, with the server's sentence and its Retry-After.
  await sim.fault({ endpoint: 'token', appid: 'wxcli503b', errcode: -1, times: 0 });
  await srv.api.register({ appid: 'wxcli503b', appsecret: 's', tasks: [{ type: 0 }] });
  const hasty = new SchedulerClient({ url: srv.url, token: TOKEN, retries: 0 });
  const err = await hasty.token('wxcli503b').catch((e: unknown) => e);
  assert.instance(err, SchedulerError);
  assert.is((err as SchedulerError).code, 503);
  assert.match((err as SchedulerError).message, /No unexpired value for task 0 of app wxcli503b/);
  assert.ok(((err as SchedulerError).retryAfterMs ?? 0) >= 1000);
  await sim.clearFaults();
});

test('a server that does not answer times out with SchedulerUnreachableError', async () => {
  const silent: Server = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  try {
    const c = new SchedulerClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 300, retries: 1, maxRetryWaitMs: 50 });
    const err = await c.token('wxany').catch((e: unknown) => e);
    assert.instance(err, SchedulerUnreachableError);
    assert.ok((err as SchedulerUnreachableError).timedOut);
    assert.match((err as Error).message, /within 300 ms/);
  } finally {
    silent.close();
  }
});

test('detail(): expires_at and refreshed_at as Dates; refresh() with the current value as stale fetches once', async () => {
  const d = await client.detail('wxcli40');
  assert.is(d.value, await srv.api.value('wxcli40', 0));
  assert.ok(d.refreshedAt instanceof Date && d.expiresAt.getTime() > d.refreshedAt.getTime());
  const before = await sim.calls('wxcli40');
  const [a, b] = await Promise.all([client.refresh('wxcli40', {}, d.value), client.refresh('wxcli40', {}, d.value)]);
  assert.is(a.value, b.value);
  assert.is.not(a.value, d.value);
  assert.is((await sim.calls('wxcli40')).token - before.token, 1);
});

test.run();
