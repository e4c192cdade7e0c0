// GET /openapi.json: a valid OpenAPI 3.1 document (checked by a standard
// validator), served without a token, and true: every route and answer
// below goes through helpers/contract.ts, which holds each real answer to
// the document's schemas and headers — as it does for every other
// integration test using a server's `api` client.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkAnswer, DOC, seen } from './helpers/contract.js';
import { client, Reply } from './helpers/http.js';
import { RunningServer, startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const WRITE = 'openapi-write';
const READ = 'openapi-read';
const SCOPED = 'openapi-scoped';
let sim: Sim;
let srv: RunningServer;
const as = (token?: string) => client(srv.url, token, checkAnswer);
/** Operations this build does not serve (another build's routes): the router answered "No route". */
const notServed = new Set<string>();

test.before(async () => {
  sim = await startSim();
  const config = join(tempDir(), 'config.json');
  writeFileSync(
    config,
    JSON.stringify({ tokens: [WRITE, { token: READ, readOnly: true }, { token: SCOPED, appids: ['wxoa_scoped'] }] }),
  );
  srv = await startServer({ wechatApi: sim.url, args: ['--config', config], token: WRITE });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

const expect = (r: Reply, status: number) => assert.is(r.status, status, r.text);

test('the document is OpenAPI 3.1 that a standard validator accepts, served without a token', async () => {
  const r = await as().get('/openapi.json');
  expect(r, 200);
  assert.equal(
    r.body,
    JSON.parse(JSON.stringify(DOC)),
    'the served document is the one the answers are checked against',
  );
  const v = new Validator();
  const verdict = await v.validate(r.body);
  assert.ok(verdict.valid, JSON.stringify(verdict.errors));
  assert.is(v.version, '3.1');
  assert.is(r.body.openapi, '3.1.0');
});

test('the check fails answers the document does not allow', () => {
  const headers = new Headers({ 'content-type': 'application/json' });
  const wrong = (status: number, body: unknown, h = headers) =>
    assert.throws(() => checkAnswer('GET', '/task/wxa/0', { status, headers: h, body, text: JSON.stringify(body) }));
  wrong(200, { code: 200, message: '', result: 5 });
  wrong(200, { code: 200, message: '', result: { value: 'v', expires_at: 'tomorrow', refreshed_at: null } });
  wrong(418, { code: 418, message: 'x', result: null });
  wrong(503, { code: 503, message: 'no value', result: null }, headers); // no Retry-After
  wrong(404, { code: 404, message: '', result: null });
  checkAnswer('GET', '/task/wxa/0', {
    status: 200,
    headers,
    body: { code: 200, message: '', result: 'AT_x' },
    text: '',
  });
});

test('registration: 200, 400, 401, 403, 413, 415', async () => {
  expect(await as(WRITE).register({ appid: 'wxoa_a', appsecret: 's', tasks: [{ type: 0 }, { type: 1 }] }), 200);
  expect(await as(WRITE).post('/register', { appid: 'wxoa_b', appsecret: 's', tasks: [{ type: 0 }] }), 200);
  expect(await as(WRITE).register({ appid: 'wx oa', appsecret: 's', tasks: [{ type: 0 }] }), 400);
  expect(await as(WRITE).post('/register', { appid: 'wxoa_c', appsecret: 's', tasks: [] }), 400);
  expect(await as().register({ appid: 'wxoa_a', appsecret: 's', tasks: [{ type: 0 }] }), 401);
  expect(await as(READ).register({ appid: 'wxoa_a', appsecret: 's', tasks: [{ type: 0 }] }), 403);
  expect(
    await as(WRITE).call('POST', '/registe', {
      raw: JSON.stringify({ appid: 'wxoa_a', appsecret: 's', tasks: [{ type: 0 }] }),
      headers: { 'content-type': 'text/plain' },
    }),
    415,
  );
  expect(
    await as(WRITE).call('POST', '/registe', {
      raw: `{"appid":"wxoa_big","appsecret":"${'s'.repeat(1100 * 1024)}","tasks":[{"type":0}]}`,
      headers: { 'content-type': 'application/json' },
    }),
    413,
  );
});

test('GET /task: 200 (value and detail, on the fast path), 400, 401, 403, 404, 503', async () => {
  const value = await as(WRITE).awaitValue('wxoa_a', 0);
  const plain = await as(READ).get('/task/wxoa_a/0');
  expect(plain, 200);
  assert.is(plain.body.result, value);
  const detail = await as(READ).get('/task/wxoa_a/0?detail=1');
  expect(detail, 200);
  assert.is((detail.body.result as { value: string }).value, value);
  expect(await as(READ).get('/task/wxoa_a/9'), 400);
  expect(await as(READ).get('/task/wxoa_a/0?detail=yes'), 400);
  expect(await as().get('/task/wxoa_a/0'), 401);
  expect(await as(SCOPED).get('/task/wxoa_a/0'), 403);
  expect(await as(READ).get('/task/wxoa_none/0'), 404);
  expect(await as(READ).get('/task/wxoa_b/1'), 404);
  await sim.fault({ endpoint: 'token', appid: 'wxoa_fail', errcode: -1, times: 0 });
  expect(await as(WRITE).register({ appid: 'wxoa_fail', appsecret: 's', tasks: [{ type: 0 }] }), 200);
  expect(await as(READ).get('/task/wxoa_fail/0'), 503);
});

test('POST …/refresh: 200 with X-Scheduler-Refresh, 400, 403, 404, 415, 503', async () => {
  const value = await as(WRITE).awaitValue('wxoa_a', 0);
  const fetched = await as(WRITE).post('/task/wxoa_a/0/refresh?detail=1', { stale: value });
  expect(fetched, 200);
  assert.is(fetched.headers.get('x-scheduler-refresh'), 'fetched');
  const current = await as(WRITE).post('/task/wxoa_a/0/refresh', { stale: value });
  expect(current, 200);
  assert.is(current.headers.get('x-scheduler-refresh'), 'current');
  expect(await as(WRITE).post('/task/wxoa_a/0/refresh', { stale: 5 }), 400);
  expect(
    await as(WRITE).call('POST', '/task/wxoa_a/0/refresh', { raw: 'stale', headers: { 'content-type': 'text/plain' } }),
    415,
  );
  expect(await as(READ).post('/task/wxoa_a/0/refresh'), 403);
  expect(await as(WRITE).post('/task/wxoa_none/0/refresh'), 404);
  expect(await as(WRITE).post('/task/wxoa_fail/0/refresh'), 503);
});

test('status: GET /apps 200 and 400, GET /apps/:appid 200 and 404; /healthz and /metrics', async () => {
  expect(await as(READ).get('/apps?limit=1'), 200);
  expect(await as(READ).get('/apps?limit=0'), 400);
  expect(await as(READ).get('/apps/wxoa_a'), 200);
  expect(await as(READ).get('/apps/wxoa_none'), 404);
  expect(await as().get('/healthz'), 200);
  expect(await as(READ).get('/metrics'), 200);
  expect(await as(SCOPED).get('/metrics'), 403);
});

test('DELETE /task and /app: 200 and 404', async () => {
  expect(await as(WRITE).del('/task/wxoa_a/1'), 200);
  expect(await as(WRITE).del('/task/wxoa_a/1'), 404);
  expect(await as(WRITE).del('/app/wxoa_b'), 200);
  expect(await as(WRITE).del('/app/wxoa_b'), 404);
  expect(await as(READ).del('/app/wxoa_a'), 403);
});

test('routes of other parts of the product answer as described where this build serves them', async () => {
  // Asked without the check first: a route this build does not serve answers "No route", which no operation lists.
  const tryRoute = async (method: string, path: string, body?: unknown) => {
    const r = await client(srv.url, WRITE).call(method, path, body === undefined ? {} : { body });
    if (r.status === 404 && String(r.body.message).startsWith('No route for')) notServed.add(`${method} ${path}`);
    else checkAnswer(method, path, r);
  };
  await tryRoute('GET', '/console');
  await tryRoute('GET', '/console/session');
  const root = await fetch(`${srv.url}/`, { redirect: 'manual', headers: { authorization: `Bearer ${WRITE}` } });
  const text = await root.text();
  if (root.status === 404) notServed.add('GET /');
  else
    checkAnswer('GET', '/', { status: root.status, headers: root.headers, body: text ? JSON.parse(text) : null, text });
  await tryRoute('GET', '/cluster');
  await tryRoute('POST', '/app/wxoa_none/clear-quota');
  await tryRoute('POST', '/component/wxoa_none/authorizers/import');
  // Their successes: an app's quota reset, and the import of a component that holds a token.
  await tryRoute('POST', '/app/wxoa_a/clear-quota');
  expect(
    await as(WRITE).register({
      appid: 'wxoa_comp',
      appsecret: 's',
      tasks: [{ type: 3, params: { component_verify_ticket: 'ticket@@@oa' } }],
    }),
    200,
  );
  await as(WRITE).awaitValue('wxoa_comp', 3);
  await tryRoute('POST', '/component/wxoa_comp/authorizers/import');
  await tryRoute('GET', '/apps?prefix=wxoa_&state=ready&limit=5');
});

test('every operation this build serves was answered and checked, with a 2xx among its answers', () => {
  const missing: string[] = [];
  for (const [template, ops] of Object.entries(DOC.paths)) {
    for (const method of Object.keys(ops).filter((k) => k !== 'parameters')) {
      const op = `${method.toUpperCase()} ${template}`;
      const statuses = seen.get(op);
      const skipped = [...notServed].some(
        (p) =>
          p.startsWith(`${method.toUpperCase()} `) &&
          new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(p.split(' ')[1]!.split('?')[0]!),
      );
      if (skipped || op === 'POST /component/{component_appid}/events') continue; // events: WeChat-signed, covered where they are built
      if (!statuses || ![...statuses].some((s) => s >= 200 && s < 400))
        missing.push(`${op} (seen: ${statuses ? [...statuses].join(', ') : 'none'})`);
    }
  }
  assert.equal(missing, [], `operations without a checked success answer: ${missing.join('; ')}`);
  console.log(
    `checked: ${[...seen].map(([op, s]) => `${op} ${[...s].sort().join('/')}`).join('; ')}${notServed.size ? `\nnot served by this build: ${[...notServed].join(', ')}` : ''}`,
  );
});

test.run();
