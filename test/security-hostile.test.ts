// Issue 3: hostile input. A table of requests no honest client sends, each
// with the status and message it must get; then proof that nothing stored
// changed and every earlier registration still serves its right value.
import { gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from './helpers/poll.js';
import { rawBytes, rawRequest, RawReply } from './helpers/security-raw.js';
import { RunningServer, startServer, stopAll } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const TOKEN = 'hostile-test-token-7f3a';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const JSON_CT = { ...AUTH, 'content-type': 'application/json' };

const BAD_APPID_PATH = 'No app is registered under that appid: an appid is 1-64 characters of A-Z, a-z, 0-9, _ or -.';
const BAD_TYPE_PATH = 'The task type must be an integer from 0 to 5.';
const BAD_APPID_BODY = 'appid must be 1-64 characters of A-Z, a-z, 0-9, _ or -.';
const BAD_SECRET = 'appsecret must be a non-empty string of at most 512 characters.';
const NOT_JSON = 'The request body must be JSON (Content-Type: application/json).';
const INVALID_JSON = 'The request body is not valid JSON.';
const NOT_OBJECT = 'The request body must be a JSON object.';
const PROTO = 'The request body must not contain "__proto__" or "constructor.prototype" keys.';
const TOO_LARGE = 'The request body is larger than 1 MiB.';
const BAD_NOTIFY = 'tasks[0].notify must be an absolute http(s) URL.';
const BAD_PARAMS = 'tasks[0].params must be an absolute http(s) URL or a JSON object of strings.';
const BAD_TASK_TYPE = 'tasks[0].type must be an integer from 0 to 5.';
const BAD_LIMIT = 'limit must be an integer from 1 to 1000.';

interface Case {
  name: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Bytes on a socket instead of an HTTP client. */
  bytes?: string;
  status: number;
  /** The envelope's message, exactly, or a pattern. */
  message: string | RegExp;
}

const reg = (o: Record<string, unknown>) =>
  JSON.stringify({ appid: 'wxhostile9', appsecret: 'hostile-secret', tasks: [{ type: 0 }], ...o });
const task = (t: Record<string, unknown>) => reg({ tasks: [{ type: 0, ...t }] });
const long = (n: number, c = 'a') => c.repeat(n);

const CASES: Case[] = [
  // Paths: encoded slashes, NUL, bad escapes, 5000-character segments, huge numbers.
  { name: 'encoded slash in appid', path: '/task/wx%2Fh1/0', status: 404, message: BAD_APPID_PATH },
  { name: 'encoded slash joining appid and type', path: '/task/wxh1%2F0/0', status: 404, message: BAD_APPID_PATH },
  { name: 'encoded NUL in appid', path: '/task/wxh1%00/0', status: 404, message: BAD_APPID_PATH },
  { name: 'encoded NUL in type', path: '/task/wxh1/0%00', status: 400, message: BAD_TYPE_PATH },
  { name: 'broken percent escape', path: '/task/wx%E0%A4%A/0', status: 404, message: BAD_APPID_PATH },
  { name: 'lone percent sign', path: '/task/wx%/0', status: 404, message: BAD_APPID_PATH },
  { name: 'dot-dot appid', path: '/task/%2e%2e/0', status: 404, message: BAD_APPID_PATH },
  { name: '5000-character appid', path: `/task/${long(5000)}/0`, status: 404, message: BAD_APPID_PATH },
  { name: '5000-character type', path: `/task/wxh1/${long(5000, '9')}`, status: 400, message: BAD_TYPE_PATH },
  {
    name: '5000-character unknown route',
    path: `/${long(5000)}`,
    status: 404,
    message: `No route for GET /${long(199)}; see the API in the README.`,
  },
  { name: 'huge type number', path: '/task/wxh1/99999999999999999999999', status: 400, message: BAD_TYPE_PATH },
  { name: 'negative type', path: '/task/wxh1/-1', status: 400, message: BAD_TYPE_PATH },
  { name: 'exponent type', path: '/task/wxh1/1e0', status: 400, message: BAD_TYPE_PATH },
  { name: 'hex type', path: '/task/wxh1/0x0', status: 400, message: BAD_TYPE_PATH },
  {
    name: 'repeated authorizer_appid',
    path: '/task/wxh1/0?authorizer_appid=a&authorizer_appid=b',
    status: 400,
    message: 'authorizer_appid must be given once, at most 128 characters.',
  },
  {
    name: '5000-character openid',
    path: `/task/wxh1/0?openid=${long(5000)}`,
    status: 400,
    message: 'openid must be given once, at most 128 characters.',
  },
  { name: 'appid __proto__', path: '/task/__proto__/0', status: 404, message: 'App __proto__ is not registered.' },
  {
    name: 'status of appid constructor',
    path: '/apps/constructor',
    status: 404,
    message: 'App constructor is not registered.',
  },
  { name: 'status of an encoded slash', path: '/apps/wxh1%2F..', status: 404, message: BAD_APPID_PATH },
  { name: 'limit of 1e309', path: '/apps?limit=1e309', status: 400, message: BAD_LIMIT },
  { name: 'limit of 20 digits', path: '/apps?limit=99999999999999999999', status: 400, message: BAD_LIMIT },
  { name: 'negative limit', path: '/apps?limit=-1', status: 400, message: BAD_LIMIT },
  {
    name: 'unknown route',
    path: '/admin',
    status: 404,
    message: 'No route for GET /admin; see the API in the README.',
  },
  {
    name: 'task without type',
    path: '/task/wxh1',
    status: 404,
    message: 'No route for GET /task/wxh1; see the API in the README.',
  },
  {
    name: 'task with an extra segment',
    path: '/task/wxh1/0/x',
    status: 404,
    message: 'No route for GET /task/wxh1/0/x; see the API in the README.',
  },
  // Wrong methods.
  {
    name: 'PUT /registe',
    method: 'PUT',
    path: '/registe',
    status: 405,
    message: 'Method PUT is not allowed here; use POST.',
  },
  {
    name: 'PATCH /task',
    method: 'PATCH',
    path: '/task/wxh1/0',
    status: 405,
    message: 'Method PATCH is not allowed here; use HEAD, GET, DELETE.',
  },
  {
    name: 'DELETE /apps',
    method: 'DELETE',
    path: '/apps',
    status: 405,
    message: 'Method DELETE is not allowed here; use HEAD, GET.',
  },
  {
    name: 'POST /healthz',
    method: 'POST',
    path: '/healthz',
    status: 405,
    message: 'Method POST is not allowed here; use HEAD, GET.',
  },
  {
    name: 'GET on refresh',
    path: '/task/wxh1/0/refresh',
    status: 405,
    message: 'Method GET is not allowed here; use POST.',
  },
  {
    name: 'refresh through an encoded slash',
    method: 'POST',
    path: '/task/wxh1/0%2Frefresh',
    status: 405,
    message: 'Method POST is not allowed here; use HEAD, GET, DELETE.',
  },
  {
    name: 'DELETE an encoded-slash app',
    method: 'DELETE',
    path: '/app/wxh1%2F..%2Fwxh2',
    status: 404,
    message: BAD_APPID_PATH,
  },
  { name: 'DELETE type 7', method: 'DELETE', path: '/task/wxh1/7', status: 400, message: BAD_TYPE_PATH },
  {
    name: 'DELETE with a repeated selector',
    method: 'DELETE',
    path: '/task/wxh1/0?openid=a&openid=b',
    status: 400,
    message: 'openid must be given once, at most 128 characters.',
  },
  {
    name: 'refresh with a numeric stale',
    method: 'POST',
    path: '/task/wxh1/0/refresh',
    headers: JSON_CT,
    body: '{"stale":5}',
    status: 400,
    message: /^stale must be /,
  },
  {
    name: 'refresh with an empty stale',
    method: 'POST',
    path: '/task/wxh1/0/refresh',
    headers: JSON_CT,
    body: '{"stale":""}',
    status: 400,
    message: /^stale must be /,
  },
  // Bodies: types, encodings, sizes.
  {
    name: 'no Content-Type',
    method: 'POST',
    path: '/registe',
    headers: AUTH,
    body: reg({}),
    status: 415,
    message: NOT_JSON,
  },
  {
    name: 'text/plain',
    method: 'POST',
    path: '/registe',
    headers: { ...AUTH, 'content-type': 'text/plain' },
    body: reg({}),
    status: 415,
    message: NOT_JSON,
  },
  {
    name: 'form-encoded',
    method: 'POST',
    path: '/register',
    headers: { ...AUTH, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'appid=wxh1&appsecret=x',
    status: 415,
    message: NOT_JSON,
  },
  {
    name: 'truncated JSON',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: '{"appid":',
    status: 400,
    message: INVALID_JSON,
  },
  {
    name: 'trailing comma',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: '{"appid":"wxh1","appsecret":"x","tasks":[{"type":0}],}',
    status: 400,
    message: INVALID_JSON,
  },
  {
    name: 'JSON null',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: 'null',
    status: 400,
    message: NOT_OBJECT,
  },
  {
    name: 'JSON string',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: '"wxh1"',
    status: 400,
    message: NOT_OBJECT,
  },
  {
    name: 'JSON array',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: '[]',
    status: 400,
    message: 'The body must be a JSON object with appid, appsecret and tasks.',
  },
  {
    name: '__proto__ key',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: '{"__proto__":{"appid":"wxh1"},"appsecret":"x","tasks":[{"type":0}]}',
    status: 400,
    message: PROTO,
  },
  // JSON.parse makes "constructor" an own, harmless key; the missing appsecret is what is wrong here.
  {
    name: 'constructor.prototype key',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: '{"constructor":{"prototype":{"x":1}},"appid":"wxh1"}',
    status: 400,
    message: BAD_SECRET,
  },
  {
    name: 'body over 1 MiB',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: reg({ pad: long(1_100_000) }),
    status: 413,
    message: TOO_LARGE,
  },
  {
    name: 'Content-Length of 100 GB',
    method: 'POST',
    path: '/registe',
    headers: { ...JSON_CT, 'content-length': '99999999999' },
    body: '{}',
    status: 413,
    message: TOO_LARGE,
  },
  {
    name: 'gzip bomb (20 MB inflated)',
    method: 'POST',
    path: '/registe',
    headers: { ...JSON_CT, 'content-encoding': 'gzip' },
    body: gzipSync(Buffer.alloc(20_000_000, 32)),
    status: 413,
    message: TOO_LARGE,
  },
  {
    name: 'gzip header on plain bytes',
    method: 'POST',
    path: '/registe',
    headers: { ...JSON_CT, 'content-encoding': 'gzip' },
    body: reg({}),
    status: 400,
    message: 'The request body could not be decompressed: it does not match its Content-Encoding.',
  },
  {
    name: 'unknown Content-Encoding',
    method: 'POST',
    path: '/registe',
    headers: { ...JSON_CT, 'content-encoding': 'zstd' },
    body: reg({}),
    status: 415,
    message:
      'The Content-Encoding of the request body is not supported; send it uncompressed, or as gzip, deflate or br.',
  },
  {
    name: '200 000 nested arrays',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: `${'['.repeat(200_000)}${']'.repeat(200_000)}`,
    status: 400,
    message: 'The body must be a JSON object with appid, appsecret and tasks.',
  },
  // Fields.
  {
    name: 'appid missing',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: '{"appsecret":"x","tasks":[{"type":0}]}',
    status: 400,
    message: BAD_APPID_BODY,
  },
  {
    name: '65-character appid',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: reg({ appid: long(65) }),
    status: 400,
    message: BAD_APPID_BODY,
  },
  {
    name: 'appid with ../',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: reg({ appid: '../wxh1' }),
    status: 400,
    message: BAD_APPID_BODY,
  },
  {
    name: 'appid in Chinese',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: reg({ appid: 'wx中文' }),
    status: 400,
    message: BAD_APPID_BODY,
  },
  {
    name: 'appid with NUL',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: reg({ appid: 'wxh1\u0000' }),
    status: 400,
    message: BAD_APPID_BODY,
  },
  {
    name: 'numeric appid',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: reg({ appid: 12345 }),
    status: 400,
    message: BAD_APPID_BODY,
  },
  {
    name: 'empty appsecret',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: reg({ appsecret: '' }),
    status: 400,
    message: BAD_SECRET,
  },
  {
    name: '513-character appsecret',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: reg({ appsecret: long(513) }),
    status: 400,
    message: BAD_SECRET,
  },
  {
    name: 'appsecret object',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: reg({ appsecret: { $ne: 1 } }),
    status: 400,
    message: BAD_SECRET,
  },
  {
    name: 'tasks missing',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: '{"appid":"wxhostile9","appsecret":"x"}',
    status: 400,
    message: 'tasks must be a non-empty array.',
  },
  {
    name: '1001 tasks',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: reg({
      tasks: Array.from({ length: 1001 }, (_, i) => ({
        type: 4,
        authorizer_appid: `wxa${i}`,
        params: { authorizer_refresh_token: 'r' },
      })),
    }),
    status: 400,
    message: 'tasks may hold at most 1000 entries.',
  },
  {
    name: 'task that is a string',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: reg({ tasks: ['0'] }),
    status: 400,
    message: 'tasks[0] must be an object with a "type".',
  },
  {
    name: 'type 6',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: task({ type: 6 }),
    status: 400,
    message: BAD_TASK_TYPE,
  },
  {
    name: 'type as a string',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: task({ type: '0' }),
    status: 400,
    message: BAD_TASK_TYPE,
  },
  {
    name: 'type 1e400 (Infinity)',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: reg({}).replace('"type":0', '"type":1e400'),
    status: 400,
    message: BAD_TASK_TYPE,
  },
  {
    name: 'type 0.5',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: task({ type: 0.5 }),
    status: 400,
    message: BAD_TASK_TYPE,
  },
  {
    name: 'javascript: notify',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: task({ notify: 'javascript:alert(1)' }),
    status: 400,
    message: BAD_NOTIFY,
  },
  {
    name: 'file: notify',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: task({ notify: 'file:///etc/passwd' }),
    status: 400,
    message: BAD_NOTIFY,
  },
  {
    name: 'ftp: notify',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: task({ notify: 'ftp://biz.example.com/cb' }),
    status: 400,
    message: BAD_NOTIFY,
  },
  {
    name: '3000-character notify',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: task({ notify: `http://biz.example.com/${long(3000)}` }),
    status: 400,
    message: BAD_NOTIFY,
  },
  {
    name: 'gopher: params',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: task({ params: 'gopher://biz.example.com/' }),
    status: 400,
    message: BAD_PARAMS,
  },
  {
    name: 'params array',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: task({ params: ['http://biz.example.com/'] }),
    status: 400,
    message: BAD_PARAMS,
  },
  {
    name: 'params value not a string',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: task({ params: { refresh_token: 5 } }),
    status: 400,
    message: 'tasks[0].params.refresh_token must be a string of at most 4096 characters.',
  },
  {
    name: 'params value of 5000 characters',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: task({ params: { x: long(5000) } }),
    status: 400,
    message: 'tasks[0].params.x must be a string of at most 4096 characters.',
  },
  {
    name: 'duplicate task',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: reg({ tasks: [{ type: 0 }, { type: 0 }] }),
    status: 400,
    message: 'tasks[1] repeats tasks[0] (type 0).',
  },
  {
    name: 'authorizer_appid on type 0',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: task({ authorizer_appid: 'wxa1' }),
    status: 400,
    message: 'tasks[0].authorizer_appid is only allowed on type 4 tasks.',
  },
  {
    name: 'authorizer_appid with ../',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: task({ type: 4, authorizer_appid: '../x', params: { authorizer_refresh_token: 'r' } }),
    status: 400,
    message: 'tasks[0].authorizer_appid must be 1-64 characters of A-Z, a-z, 0-9, _ or -.',
  },
  {
    name: 'stable as a string',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: task({ stable: 'yes' }),
    status: 400,
    message: 'tasks[0].stable must be true or false.',
  },
  {
    name: 'type 3 without params',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: task({ type: 3 }),
    status: 400,
    message:
      'tasks[0] (type 3, component_access_token) needs push settings (WeChat then pushes the component_verify_ticket) or params giving one.',
  },
  // A half-bad re-registration of a live app must change nothing of it (not even its appsecret).
  {
    name: 're-registration with one bad task',
    method: 'POST',
    path: '/registe',
    headers: JSON_CT,
    body: JSON.stringify({ appid: 'wxh1', appsecret: 'changed-secret', tasks: [{ type: 0 }, { type: 9 }] }),
    status: 400,
    message: 'tasks[1].type must be an integer from 0 to 5.',
  },
  // Credentials.
  {
    name: 'no token',
    path: '/task/wxh1/0',
    headers: {},
    status: 401,
    message: 'This server needs Authorization: Bearer <token>.',
  },
  {
    name: 'Basic credentials',
    path: '/task/wxh1/0',
    headers: { authorization: 'Basic aG9zdGlsZTp0ZXN0' },
    status: 401,
    message: 'This server needs Authorization: Bearer <token>.',
  },
  {
    name: 'wrong token of the same length',
    path: '/task/wxh1/0',
    headers: { authorization: `Bearer ${TOKEN.replace(/.$/, 'x')}` },
    status: 401,
    message: 'The API token is not valid.',
  },
  {
    name: '20 KB Authorization header',
    path: '/task/wxh1/0',
    headers: { authorization: `Bearer ${long(20_000)}` },
    status: 431,
    message: 'The request line and headers are larger than the server accepts (16 KiB).',
  },
  // Bytes no HTTP client would send.
  {
    name: 'raw NUL in the request line',
    bytes: 'GET /task/wx\u0000h1/0 HTTP/1.1\r\nHost: x\r\n\r\n',
    status: 400,
    message: 'The request is not valid HTTP/1.1.',
  },
  {
    name: 'unknown method',
    bytes: 'BREW /task/wxh1/0 HTTP/1.1\r\nHost: x\r\n\r\n',
    status: 405,
    message: 'This HTTP method is not known here; the API uses GET, POST and DELETE.',
  },
  {
    name: 'Content-Length that is not a number',
    bytes: 'POST /registe HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}',
    status: 400,
    message: 'The request is not valid HTTP/1.1.',
  },
  {
    name: 'two Content-Lengths (request smuggling)',
    bytes: 'POST /registe HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 30\r\n\r\n{}',
    status: 400,
    message: 'The request is not valid HTTP/1.1.',
  },
  {
    name: 'not HTTP at all',
    bytes: 'hello there\r\n\r\n',
    status: 405,
    message: 'This HTTP method is not known here; the API uses GET, POST and DELETE.',
  },
];

let sim: Sim;
let srv: RunningServer;

const APPS = ['wxh1', 'wxh2', 'wxhc'];

async function snapshot() {
  const values: Record<string, string> = {
    'wxh1/0': await srv.api.value('wxh1', 0),
    'wxh2/0': await srv.api.value('wxh2', 0),
    'wxh2/1': await srv.api.value('wxh2', 1),
    'wxhc/3': await srv.api.value('wxhc', 3),
    'wxhc/4': await srv.api.value('wxhc', 4, '?authorizer_appid=wxauth1'),
  };
  const apps = (await srv.api.get('/apps')).body;
  const stats = await sim.stats();
  return { values, apps, fetches: stats.total };
}

test.before(async () => {
  sim = await startSim();
  srv = await startServer({ wechatApi: sim.url, args: ['--token', TOKEN], token: TOKEN });
  const ok = async (body: unknown) => {
    const r = await srv.api.register(body);
    assert.is(r.status, 200, r.text);
  };
  await ok({ appid: 'wxh1', appsecret: 'secret-h1', tasks: [{ type: 0 }] });
  await ok({ appid: 'wxh2', appsecret: 'secret-h2', tasks: [{ type: 0 }, { type: 1 }] });
  await ok({
    appid: 'wxhc',
    appsecret: 'secret-hc',
    tasks: [
      { type: 3, params: { component_verify_ticket: 'ticket-hc' } },
      { type: 4, authorizer_appid: 'wxauth1', params: { authorizer_refresh_token: 'art-hc' } },
    ],
  });
  await waitFor(
    'every registered task to be ready',
    async () => {
      const r = await srv.api.get('/apps');
      const apps = (r.body.result as { apps: Array<{ tasks: Array<{ state: string }> }> }).apps;
      return apps.length === 3 && apps.every((a) => a.tasks.every((t) => t.state === 'ready'));
    },
    30_000,
  );
});

test.after(async () => {
  await stopAll();
  await sim.close();
});

test(`${CASES.length} hostile requests: each answered with its status and message, never a 5xx, never a crash`, async () => {
  assert.ok(CASES.length >= 40, 'at least 40 cases');
  const before = await snapshot();
  const failures: string[] = [];
  for (const c of CASES) {
    let r: RawReply;
    try {
      r =
        c.bytes !== undefined
          ? await rawBytes(srv.url, c.bytes)
          : await rawRequest(srv.url, {
              method: c.method ?? 'GET',
              path: c.path!,
              headers: c.headers ?? AUTH,
              body: c.body,
            });
    } catch (e) {
      failures.push(`${c.name}: request failed: ${(e as Error).message}`);
      continue;
    }
    const message = r.body?.message;
    const messageOk =
      typeof c.message === 'string' ? message === c.message : typeof message === 'string' && c.message.test(message);
    if (r.status !== c.status || r.body?.code !== c.status || !messageOk) {
      failures.push(`${c.name}: expected ${c.status} "${String(c.message)}", got ${r.status} ${r.text.slice(0, 300)}`);
    }
    if (r.status >= 500) failures.push(`${c.name}: a 5xx`);
    if (c.status === 401 && r.headers['www-authenticate'] !== 'Bearer' && c.bytes === undefined) {
      failures.push(`${c.name}: 401 without WWW-Authenticate: Bearer`);
    }
  }
  assert.equal(failures, [], failures.join('\n'));

  // Still the same process, healthy, with nothing logged as unexpected.
  assert.is(srv.proc.exitCode, null, 'the server is still running');
  assert.is((await srv.api.get('/healthz')).status, 200);
  await srv.frontLinesIn();
  const unexpected = srv.logs().filter((l) => l.level === 'error' || l.level === 'fatal');
  assert.equal(unexpected, [], JSON.stringify(unexpected));

  // Nothing stored changed: same values (still valid at WeChat), same /apps, no fetch caused.
  const after = await snapshot();
  assert.equal(after.values, before.values);
  assert.equal(after.apps, before.apps);
  assert.is(after.fetches, before.fetches, 'no WeChat fetch was caused by the hostile requests');
  for (const [k, v] of Object.entries(after.values))
    assert.ok(await sim.valid(v), `${k} is still valid at the simulator`);
  const listed = (after.apps.result as { apps: Array<{ appid: string }> }).apps.map((a) => a.appid);
  assert.equal(listed, APPS, 'no app was added or removed');
});

test('after the hostile table, registrations and queries still work normally', async () => {
  const r = await srv.api.register({ appid: 'wxh4', appsecret: 'secret-h4', tasks: [{ type: 0 }] });
  assert.is(r.status, 200, r.text);
  const v = await waitFor('wxh4 to be served', () => srv.api.value('wxh4', 0).catch(() => undefined), 30_000);
  assert.ok(await sim.valid(v));
  assert.is(await srv.api.value('wxh1', 0), (await srv.api.get('/task/wxh1/0')).body.result);
});

test.run();
