// docs/api.md §5: every validation rule answered with its code and a sentence,
// nothing stored changed by bad input, and the service healthy afterwards.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { call } from './helpers/http.js';
import { waitFor } from './helpers/poll.js';
import { RunningServer, startServer, stopAll } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

let sim: Sim;
let srv: RunningServer;
let goodValue = '';

test.before(async () => {
  sim = await startSim();
  srv = await startServer({ wechatApi: sim.url });
  await srv.api.register({ appid: 'wxkeep', appsecret: 'keep-secret', tasks: [{ type: 0 }] });
  goodValue = await waitFor("the kept app's value", async () => {
    const r = await srv.api.get('/task/wxkeep/0');
    return r.status === 200 ? (r.body.result as string) : undefined;
  });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

const ok = { appid: 'wxv', appsecret: 's', tasks: [{ type: 0 }] };
const long = 'a'.repeat(65);

// [name, body, expected message pattern]
const badBodies: Array<[string, unknown, RegExp]> = [
  ['body is an array', [ok], /JSON object/],
  ['body is a string', 'hello', /JSON/],
  ['appid missing', { appsecret: 's', tasks: [{ type: 0 }] }, /appid/],
  ['appid empty', { ...ok, appid: '' }, /appid/],
  ['appid 65 characters', { ...ok, appid: long }, /appid/],
  ['appid with a slash', { ...ok, appid: 'wx/1' }, /appid/],
  ['appid with a space', { ...ok, appid: 'wx 1' }, /appid/],
  ['appid a number', { ...ok, appid: 12345 }, /appid/],
  ['appsecret missing', { appid: 'wxv', tasks: [{ type: 0 }] }, /appsecret/],
  ['appsecret empty', { ...ok, appsecret: '' }, /appsecret/],
  ['appsecret a number', { ...ok, appsecret: 7 }, /appsecret/],
  ['tasks missing', { appid: 'wxv', appsecret: 's' }, /tasks/],
  ['tasks empty', { ...ok, tasks: [] }, /tasks/],
  ['tasks an object', { ...ok, tasks: { type: 0 } }, /tasks/],
  [
    '1001 tasks',
    {
      ...ok,
      tasks: Array.from({ length: 1001 }, (_, i) => ({ type: 2, openid: `u${i}`, params: { refresh_token: 'r' } })),
    },
    /1000/,
  ],
  ['task not an object', { ...ok, tasks: [0] }, /tasks\[0\]/],
  ['type missing', { ...ok, tasks: [{}] }, /tasks\[0\]\.type/],
  ['type 6', { ...ok, tasks: [{ type: 6 }] }, /type must be an integer from 0 to 5/],
  ['type -1', { ...ok, tasks: [{ type: -1 }] }, /type/],
  ['type 1.5', { ...ok, tasks: [{ type: 1.5 }] }, /type/],
  ['type "0"', { ...ok, tasks: [{ type: '0' }] }, /type/],
  ['notify relative', { ...ok, tasks: [{ type: 0, notify: '/cb' }] }, /notify/],
  ['notify ftp', { ...ok, tasks: [{ type: 0, notify: 'ftp://biz/cb' }] }, /notify/],
  ['notify a number', { ...ok, tasks: [{ type: 0, notify: 5 }] }, /notify/],
  ['params javascript: URL', { ...ok, tasks: [{ type: 0, params: 'javascript:alert(1)' }] }, /params/],
  ['params a number', { ...ok, tasks: [{ type: 0, params: 3 }] }, /params/],
  ['params an array', { ...ok, tasks: [{ type: 0, params: ['x'] }] }, /params/],
  ['params with a non-string value', { ...ok, tasks: [{ type: 2, params: { refresh_token: 1 } }] }, /params/],
  ['type 1 without type 0 or params', { ...ok, tasks: [{ type: 1 }] }, /tasks\[0\].*type 0/],
  ['type 2 without params', { ...ok, tasks: [{ type: 0 }, { type: 2 }] }, /tasks\[1\].*refresh_token/],
  ['type 3 without params', { ...ok, tasks: [{ type: 3 }] }, /tasks\[0\].*component_verify_ticket/],
  [
    'type 4 without params',
    { ...ok, tasks: [{ type: 4, authorizer_appid: 'wxa' }] },
    /tasks\[0\].*authorizer_refresh_token/,
  ],
  ['authorizer_appid on type 0', { ...ok, tasks: [{ type: 0, authorizer_appid: 'wxa' }] }, /authorizer_appid/],
  ['openid on type 0', { ...ok, tasks: [{ type: 0, openid: 'u' }] }, /openid/],
  ['the same task twice', { ...ok, tasks: [{ type: 0 }, { type: 0 }] }, /repeats/],
];

for (const [name, body, pattern] of badBodies) {
  test(`POST /registe: ${name} → 400`, async () => {
    const r = await srv.api.register(body);
    assert.is(r.status, 400, r.text);
    assert.is(r.body.code, 400);
    assert.is(r.body.result, null);
    assert.match(r.body.message as string, pattern);
    assert.match(r.body.message as string, /\.$/, 'a sentence');
  });
}

test('a body that is not JSON: 400; not application/json: 415; over 1 MiB: 413', async () => {
  const broken = await srv.api.call('POST', '/registe', {
    raw: '{"appid": ',
    headers: { 'content-type': 'application/json' },
  });
  assert.is(broken.status, 400);
  assert.match(broken.body.message as string, /JSON/);
  const text = await srv.api.call('POST', '/registe', {
    raw: JSON.stringify(ok),
    headers: { 'content-type': 'text/plain' },
  });
  assert.is(text.status, 415);
  assert.is(text.body.code, 415);
  assert.match(text.body.message as string, /JSON/);
  const form = await srv.api.call('POST', '/register', {
    raw: 'appid=wxv',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.is(form.status, 415);
  const huge = await srv.api.call('POST', '/registe', {
    raw: JSON.stringify({ ...ok, appsecret: 'x'.repeat(1024 * 1024 + 10) }),
    headers: { 'content-type': 'application/json' },
  });
  assert.is(huge.status, 413);
  assert.is(huge.body.code, 413);
  assert.match(huge.body.message as string, /1 MiB/);
});

test('GET /task: bad type 400, unknown app 404, unknown task 404', async () => {
  for (const [path, status, pattern] of [
    ['/task/wxkeep/6', 400, /type/],
    ['/task/wxkeep/x', 400, /type/],
    ['/task/wxnobody/0', 404, /not registered/],
    ['/task/wxkeep/3', 404, /no task of type 3/],
  ] as const) {
    const r = await srv.api.get(path);
    assert.is(r.status, status, path);
    assert.is(r.body.code, status);
    assert.match(r.body.message as string, pattern);
  }
});

test('/register is an alias of /registe', async () => {
  const r = await srv.api.post('/register', { appid: 'wxalias', appsecret: 's', tasks: [{ type: 0 }] });
  assert.equal(r.body, { code: 200, message: '', result: 'success' });
  await waitFor("the alias app's value", async () => (await srv.api.get('/task/wxalias/0')).status === 200);
});

test('after all that: healthy, nothing bad stored, the earlier app still served unchanged', async () => {
  const h = await call(srv.url, 'GET', '/healthz');
  assert.equal(h.body, { code: 200, message: '', result: 'ok' });
  assert.is((await srv.api.get('/task/wxkeep/0')).body.result, goodValue);
  const apps = await srv.api.get('/apps');
  const ids = (apps.body.result as { apps: Array<{ appid: string }> }).apps.map((a) => a.appid).sort();
  assert.equal(ids, ['wxalias', 'wxkeep'], 'no invalid registration was stored');
  assert.is((await sim.stats()).byApp.wxv, undefined, 'nothing fetched for a rejected registration');
});

test.run();
