// config `compat: "v0"`, for clients of the original Go server: every JSON
// answer is HTTP 200 with the envelope's code unchanged, and a /registe body
// is read as JSON whatever its Content-Type.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SchedulerClient, SchedulerError } from 'wechat-scheduler/client';
import { call } from './helpers/http.js';
import { BIN, RunningServer, startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const TOKEN = 'v0-token';
let sim: Sim;
let srv: RunningServer;

function configFile(settings: Record<string, unknown>): string {
  const file = join(tempDir(), 'config.json');
  writeFileSync(file, JSON.stringify(settings));
  return file;
}

test.before(async () => {
  sim = await startSim();
  srv = await startServer({
    wechatApi: sim.url,
    args: ['--config', configFile({ compat: 'v0', tokens: [TOKEN] })],
    token: TOKEN,
  });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

test('an unknown app answers HTTP 200 with code 404 and the sentence', async () => {
  const r = await srv.api.get('/task/wxv0none/0');
  assert.is(r.status, 200);
  assert.equal(r.body, { code: 404, message: 'App wxv0none is not registered.', result: null });
  const bad = await srv.api.get('/task/wxv0none/7');
  assert.is(bad.status, 200);
  assert.is(bad.body.code, 400);
});

test('a registration sent as text/plain (or with no Content-Type) succeeds', async () => {
  const body = JSON.stringify({ appid: 'wxv0plain', appsecret: 's', tasks: [{ type: 0 }] });
  const r = await srv.api.call('POST', '/registe', { raw: body, headers: { 'content-type': 'text/plain' } });
  assert.is(r.status, 200);
  assert.equal(r.body, { code: 200, message: '', result: 'success' });
  const value = await srv.api.awaitValue('wxv0plain', 0);
  assert.ok(await sim.valid(value));
  const form = await srv.api.call('POST', '/registe', {
    raw: JSON.stringify({ appid: 'wxv0form', appsecret: 's', tasks: [{ type: 0 }] }),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(form.body, { code: 200, message: '', result: 'success' });
  // fetch() labels a string body text/plain; a Blob without a type sends no Content-Type at all.
  const bare = await fetch(`${srv.url}/registe`, {
    method: 'POST',
    body: new Blob([JSON.stringify({ appid: 'wxv0bare', appsecret: 's', tasks: [{ type: 0 }] })]),
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(await bare.json(), { code: 200, message: '', result: 'success' });
  await srv.api.awaitValue('wxv0bare', 0);
});

test('a body that is not JSON is still refused, with code 400 at HTTP 200', async () => {
  const r = await srv.api.call('POST', '/registe', {
    raw: 'appid=wx&appsecret=s',
    headers: { 'content-type': 'text/plain' },
  });
  assert.is(r.status, 200);
  assert.is(r.body.code, 400);
  assert.match(String(r.body.message), /must be a JSON object/);
});

test('401 keeps WWW-Authenticate, 503 keeps Retry-After, at HTTP 200', async () => {
  const r = await call(srv.url, 'GET', '/task/wxv0plain/0');
  assert.is(r.status, 200);
  assert.is(r.body.code, 401);
  assert.is(r.headers.get('www-authenticate'), 'Bearer');
  assert.is(r.headers.get('content-type'), 'application/json; charset=utf-8');
  await sim.fault({ endpoint: 'token', appid: 'wxv0fail', errcode: -1, times: 0 });
  await srv.api.register({ appid: 'wxv0fail', appsecret: 's', tasks: [{ type: 0 }] });
  const none = await srv.api.get('/task/wxv0fail/0');
  assert.is(none.status, 200);
  assert.is(none.body.code, 503);
  assert.match(none.headers.get('retry-after') ?? '', /^\d+$/);
  await sim.clearFaults();
});

test('the Node client reads the envelope code: an unknown app is still a SchedulerError 404', async () => {
  const c = new SchedulerClient({ url: srv.url, token: TOKEN });
  const err = await c.token('wxv0none').catch((e: unknown) => e);
  assert.instance(err, SchedulerError);
  assert.is((err as SchedulerError).code, 404);
  assert.is(await c.token('wxv0plain'), await srv.api.value('wxv0plain', 0));
});

test('without compat a text/plain registration is 415 at HTTP 415; an unknown compat mode stops the start', async () => {
  const plain = await startServer({ wechatApi: sim.url });
  const r = await plain.api.call('POST', '/registe', {
    raw: JSON.stringify({ appid: 'wxv0x', appsecret: 's', tasks: [{ type: 0 }] }),
    headers: { 'content-type': 'text/plain' },
  });
  assert.is(r.status, 415);
  assert.is(r.body.code, 415);
  const bad = spawnSync(
    process.execPath,
    [BIN, '-p', '0', '--data-dir', join(tempDir(), 'd'), '--config', configFile({ compat: 'v1' })],
    { encoding: 'utf8', timeout: 20_000 },
  );
  assert.is.not(bad.status, 0);
  assert.match(bad.stderr, /invalid compat "v1"/);
  assert.is(bad.stderr.trim().split('\n').length, 1, bad.stderr);
});

test.run();
