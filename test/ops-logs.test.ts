// Structured logs: pino JSON lines, a request id that follows a request into
// the shard thread, --log-level, token values masked, secrets never.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { client } from './helpers/http.js';
import { waitFor } from './helpers/poll.js';
import { portToName } from './helpers/ports.js';
import { BIN, RunningServer, startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const SECRET = 'sec-logs-5be7c0de';
const WRONG = 'sec-logs-wrong-77aa';
let sim: Sim;
let srv: RunningServer;

test.before(async () => {
  sim = await startSim();
  await sim.addApp({ appid: 'wxlogbad', secret: 'the-right-one' });
  srv = await startServer({ wechatApi: sim.url, args: ['--log-level', 'debug'] });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

const value = (appid: string, type: number, q = '') => srv.api.awaitValue(appid, type, q);

test('every line is a JSON object with level, time and msg', async () => {
  await srv.api.register({ appid: 'wxlog', appsecret: SECRET, tasks: [{ type: 0 }, { type: 1 }] });
  await value('wxlog', 1);
  const lines = srv
    .output()
    .split('\n')
    .filter((l) => l !== '');
  assert.ok(lines.length > 5);
  for (const l of lines) {
    const o = JSON.parse(l) as Record<string, unknown>;
    assert.type(o.level, 'string', l);
    assert.type(o.msg, 'string', l);
    assert.ok(!Number.isNaN(Date.parse(String(o.time))), l);
  }
  assert.ok(
    srv.logs().some((l) => l.level === 'debug'),
    '--log-level debug shows debug lines',
  );
});

test('a request id is echoed (or made) and follows a passive refresh into the shard thread', async () => {
  const given = await srv.api.get('/apps', { headers: { 'x-request-id': 'req-ops-logs-1' } });
  assert.is(given.headers.get('x-request-id'), 'req-ops-logs-1');
  const made = await srv.api.get('/apps', { headers: { 'x-request-id': 'not a sane id; <script>' } });
  assert.match(made.headers.get('x-request-id') ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-/);
  await waitFor('the request line', () =>
    srv
      .logs()
      .find((l) => l.msg === 'request' && l.reqId === 'req-ops-logs-1' && l.route === '/apps' && l.status === 200),
  );

  const token = await value('wxlog', 0);
  const r = await srv.api.post(
    '/task/wxlog/0/refresh',
    { stale: token },
    { headers: { 'x-request-id': 'req-ops-refresh-1' } },
  );
  assert.is(r.status, 200, r.text);
  const front = await waitFor('the front line', () =>
    srv.logs().find((l) => l.msg === 'request' && l.reqId === 'req-ops-refresh-1'),
  );
  assert.equal(
    [front.method, front.route, front.status, front.level],
    ['POST', '/task/:appid/:type/refresh', 200, 'info'],
  );
  assert.type(front.ms, 'number');
  const shard = await waitFor('the shard line', () =>
    srv.logs().find((l) => l.msg === 'passive refresh' && l.reqId === 'req-ops-refresh-1'),
  );
  assert.is(shard.appid, 'wxlog');
  assert.is(shard.result, 'fetched');
  assert.type(shard.shard, 'number', 'logged by a shard thread');
  assert.is(shard.stale, `${token.slice(0, 4)}***${token.slice(-2)}(${token.length})`, 'the stale value masked');
});

test('token values appear only masked, secrets never, in anything the server printed', async () => {
  await srv.api.register({ appid: 'wxlogbad', appsecret: WRONG, tasks: [{ type: 0 }] });
  await waitFor('the failure line', () => srv.logs().find((l) => l.msg === 'fetch failed' && l.appid === 'wxlogbad'));
  const values = [await value('wxlog', 0), await value('wxlog', 1)];
  for (const kind of ['access_token', 'jsapi_ticket']) {
    values.push(
      ((await (await fetch(`${sim.url}/__sim/latest?kind=${kind}&owner=wxlog`)).json()) as { token: string }).token,
    );
  }
  const out = srv.output();
  for (const v of values) {
    assert.not.ok(out.includes(v), `a whole token value was printed: ${v.slice(0, 8)}…`);
    assert.ok(
      out.includes(`${v.slice(0, 4)}***${v.slice(-2)}(${v.length})`),
      'its masked form was (when it was fetched)',
    );
  }
  for (const s of [SECRET, WRONG, 'the-right-one']) assert.not.ok(out.includes(s), 'a secret was printed');
  const refreshed = srv.logs().filter((l) => typeof l.msg === 'string' && l.msg.endsWith(' refreshed'));
  assert.ok(refreshed.length >= 2);
  for (const l of refreshed) assert.match(String(l.value), /^\w{4}\*\*\*\w{2}\(\d+\)$/);
});

test('--log-level warn prints warnings and errors only', async () => {
  const port = await portToName();
  const proc = spawn(
    process.execPath,
    [
      BIN,
      '-p',
      String(port),
      '--host',
      '127.0.0.1',
      '--data-dir',
      join(tempDir(), 'data'),
      '--wechat-api',
      sim.url,
      '--workers',
      '1',
      '--log-level',
      'warn',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const api = client(`http://127.0.0.1:${port}`);
    await waitFor('the quiet server to answer', async () => (await api.get('/healthz')).status === 200, 30_000);
    await api.register({ appid: 'wxlogbad', appsecret: WRONG, tasks: [{ type: 0 }] });
    await api.register({ appid: 'wxlogquiet', appsecret: 's', tasks: [{ type: 0 }] });
    await waitFor('a value', async () => (await api.get('/task/wxlogquiet/0')).status === 200);
    await api.get('/apps');
    await waitFor('the warning', () => out.includes('"msg":"fetch failed"'));
    const levels = new Set(
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => (JSON.parse(l) as { level: string }).level),
    );
    assert.equal([...levels].sort(), ['warn'], `levels printed: ${[...levels].join(', ')}`);
  } finally {
    process.kill(-proc.pid!, 'SIGKILL');
  }
});

test.run();
