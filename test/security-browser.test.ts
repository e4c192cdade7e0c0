// Issue 15: protected mode that a web page cannot cross. A page open in a
// browser on the server's host is a loopback client; DNS rebinding gives it
// a loopback peer with its own name in Host, and a "simple" cross-site POST
// needs no preflight. Both are refused; the server's own origin is served.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rawRequest } from './helpers/security-raw.js';
import { RunningServer, startServer, stopAll } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

let sim: Sim;
let open: RunningServer;
let guarded: RunningServer;
const TOKEN = 'browser-test-token';

test.before(async () => {
  sim = await startSim();
  open = await startServer({ wechatApi: sim.url, workers: 1 });
  guarded = await startServer({ wechatApi: sim.url, workers: 1, args: ['--token', TOKEN] });
  const r = await open.api.register({ appid: 'wxbrowser1', appsecret: 'browser-secret', tasks: [{ type: 0 }] });
  assert.is(r.status, 200, r.text);
  await open.api.awaitValue('wxbrowser1', 0);
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

const tokenCalls = async () => (await sim.stats()).calls.token;

test('protected mode: a rebound name in Host is refused on every route but /healthz, with the envelope; localhost and addresses are served', async () => {
  const host = `evil.example:${open.port}`;
  for (const [method, path] of [
    ['GET', '/task/wxbrowser1/0'],
    ['GET', '/apps'],
    ['GET', '/apps/wxbrowser1'],
    ['GET', '/metrics'],
    ['POST', '/task/wxbrowser1/0/refresh'],
  ] as const) {
    const r = await rawRequest(open.url, {
      method,
      path,
      headers: { host, 'content-type': 'application/json' },
      body: method === 'POST' ? '{}' : undefined,
    });
    assert.is(r.status, 403, `${method} ${path}: ${r.text}`);
    assert.is(r.body?.code, 403);
    assert.match(r.body!.message, /only requests addressed to localhost or an IP address/);
    assert.not.match(r.text, /browser-secret/);
  }
  // Loopback names are served, and addresses: no DNS answer can rebind an address (a trusted proxy forwards one).
  for (const h of [
    `localhost:${open.port}`,
    `127.0.0.1:${open.port}`,
    `127.7.0.1:${open.port}`,
    'localhost',
    `app.localhost:${open.port}`,
    `[::1]:${open.port}`,
    `10.1.2.3:${open.port}`,
  ]) {
    const r = await rawRequest(open.url, { method: 'GET', path: '/task/wxbrowser1/0', headers: { host: h } });
    assert.is(r.status, 200, `${h}: ${r.text}`);
  }
  const health = await rawRequest(open.url, { method: 'GET', path: '/healthz', headers: { host } });
  assert.is(health.status, 200, health.text);
});

test('protected mode: a simple cross-site POST (text/plain) is refused before it reaches WeChat', async () => {
  const before = await tokenCalls();
  for (const origin of [
    'http://evil.example',
    `http://evil.example:${open.port}`,
    'null',
    `http://localhost:${open.port + 1}`,
  ]) {
    const r = await rawRequest(open.url, {
      method: 'POST',
      path: '/task/wxbrowser1/0/refresh',
      headers: { host: `127.0.0.1:${open.port}`, origin, 'content-type': 'text/plain' },
      body: '{}',
    });
    assert.is(r.status, 403, `${origin}: ${r.text}`);
    assert.is(r.headers['x-scheduler-refresh'], undefined);
    assert.match(r.body!.message, /web pages of other sites are refused/);
  }
  const reg = await rawRequest(open.url, {
    method: 'POST',
    path: '/registe',
    headers: { host: `127.0.0.1:${open.port}`, origin: 'http://evil.example', 'content-type': 'text/plain' },
    body: JSON.stringify({ appid: 'wxbrowser2', appsecret: 's', tasks: [{ type: 0 }] }),
  });
  assert.is(reg.status, 403, reg.text);
  const gone = await rawRequest(open.url, {
    method: 'GET',
    path: '/apps/wxbrowser2',
    headers: { host: `127.0.0.1:${open.port}` },
  });
  assert.is(gone.status, 404, gone.text);
  // Even health checks from another site's page.
  const health = await rawRequest(open.url, {
    method: 'GET',
    path: '/healthz',
    headers: { host: `127.0.0.1:${open.port}`, origin: 'http://evil.example' },
  });
  assert.is(health.status, 403, health.text);
  assert.is(await tokenCalls(), before, 'no WeChat call');
});

test("protected mode: the server's own origin (its console) is served", async () => {
  for (const host of [`127.0.0.1:${open.port}`, `localhost:${open.port}`]) {
    const r = await rawRequest(open.url, { method: 'GET', path: '/apps', headers: { host, origin: `http://${host}` } });
    assert.is(r.status, 200, `${host}: ${r.text}`);
  }
  const r = await rawRequest(open.url, {
    method: 'POST',
    path: '/task/wxbrowser1/0/refresh',
    headers: {
      host: `127.0.0.1:${open.port}`,
      origin: `http://127.0.0.1:${open.port}`,
      'content-type': 'application/json',
    },
    body: '{}',
  });
  assert.is(r.status, 200, r.text);
});

test('with tokens: a cross-site page cannot add the Bearer token, so its requests get 401', async () => {
  const r = await rawRequest(guarded.url, {
    method: 'POST',
    path: '/task/wxbrowser1/0/refresh',
    headers: { host: `evil.example:${guarded.port}`, origin: 'http://evil.example', 'content-type': 'text/plain' },
    body: '{}',
  });
  assert.is(r.status, 401, r.text);
  // Any name is served with a valid token (no rebinding risk: the page does not have it).
  const ok = await rawRequest(guarded.url, {
    method: 'GET',
    path: '/apps',
    headers: { host: `scheduler.internal:${guarded.port}`, authorization: `Bearer ${TOKEN}` },
  });
  assert.is(ok.status, 200, ok.text);
});

test.run();
