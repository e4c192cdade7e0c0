// POST /registe has two paths: a plain request is answered before Koa
// (lib/front/listeners/post-registe.ts), anything else by the Koa
// route. Both must answer byte for byte alike — status line, headers in
// order, envelope — and count and log alike. Each body is sent plain, then
// gzip-compressed and chunked (which only Koa takes), and the answers compared.
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plainBodyLength } from '../lib/front/listeners/post-registe.js';
import { at, must } from './helpers/must.js';
import { sleep, waitFor } from './helpers/poll.js';
import { parseProm } from './helpers/prom.js';
import { RunningServer, startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const ADMIN = 'paths-admin-token-0123456789';
const SCOPED = 'paths-scoped-token-0123456789';

let sim: Sim;
let srv: RunningServer;

test.before(async () => {
  sim = await startSim();
  const config = join(tempDir(), 'config.json');
  writeFileSync(config, JSON.stringify({ tokens: [{ token: ADMIN }, { token: SCOPED, appids: ['wxscoped'] }] }));
  srv = await startServer({ wechatApi: sim.url, token: ADMIN, args: ['--config', config] });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

type Way = 'plain' | 'gzip' | 'chunked';

interface Answer {
  statusLine: string;
  /** Raw header names and values in the order sent, without Date. */
  headers: string[];
  body: string;
}

/** One request on its own connection; what came back, as sent. */
function send(way: Way, body: Buffer, token: string, reqId: string, path = '/registe'): Promise<Answer> {
  const u = new URL(srv.url);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    authorization: `Bearer ${token}`,
    'x-request-id': reqId,
  };
  let payload = body;
  if (way === 'gzip') {
    payload = gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  if (way === 'chunked') headers['transfer-encoding'] = 'chunked';
  else headers['content-length'] = String(payload.length);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: Number(u.port), method: 'POST', path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const raw = res.rawHeaders;
          const kept: string[] = [];
          for (let i = 0; i < raw.length; i += 2) {
            const name = at(raw, i, 'header name');
            if (name.toLowerCase() !== 'date') kept.push(`${name}: ${at(raw, i + 1, `value of ${name}`)}`);
          }
          resolve({
            statusLine: `${res.statusCode} ${res.statusMessage}`,
            headers: kept,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function httpCounts(): Promise<Map<string, number>> {
  const r = await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const fam = parseProm(await r.text()).get('wechat_scheduler_http_requests_total');
  const out = new Map<string, number>();
  for (const s of fam?.samples ?? []) out.set(`${s.labels.route} ${s.labels.status}`, s.value);
  return out;
}

/** The counter labels a request moved (GET /metrics itself is counted under its own label, left out). */
async function countedAs(act: () => Promise<Answer>): Promise<{ answer: Answer; labels: string[] }> {
  const before = await httpCounts();
  const answer = await act();
  const after = await httpCounts();
  const labels = [...after]
    .filter(([k, v]) => !k.startsWith('/metrics') && v !== (before.get(k) ?? 0))
    .map(([k, v]) => `${k} +${v - (before.get(k) ?? 0)}`);
  return { answer, labels };
}

/** The one log line of a request, without its timing (it may reach the pipe after the answer). */
async function logLine(reqId: string): Promise<Record<string, unknown>> {
  const of = () => srv.logs().filter((l) => l.reqId === reqId && l.route !== undefined);
  await waitFor(`the log line of ${reqId}`, () => of().length > 0);
  await sleep(50); // a second line would be a bug; give it the chance to show
  const lines = of();
  assert.is(lines.length, 1, `one log line for ${reqId}`);
  const { ms: _ms, time: _time, reqId: _id, ...rest } = at(lines, 0, 'log line');
  return rest;
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const json = (v: unknown) => utf8(JSON.stringify(v));

// [name, body, token, expected status]
const cases: Array<[string, Buffer, string, number]> = [
  ['valid type-0 registration', json({ appid: 'wxpaths', appsecret: 's', tasks: [{ type: 0 }] }), ADMIN, 200],
  [
    'valid, with a BOM',
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json({ appid: 'wxbom', appsecret: 's', tasks: [{ type: 0 }] })]),
    ADMIN,
    200,
  ],
  ['scoped token, its own app', json({ appid: 'wxscoped', appsecret: 's', tasks: [{ type: 0 }] }), SCOPED, 200],
  ['scoped token, another app', json({ appid: 'wxother', appsecret: 's', tasks: [{ type: 0 }] }), SCOPED, 403],
  ['appid missing', json({ appsecret: 's', tasks: [{ type: 0 }] }), ADMIN, 400],
  ['type 6', json({ appid: 'wxpaths', appsecret: 's', tasks: [{ type: 6 }] }), ADMIN, 400],
  ['type 5 without type 0 or params', json({ appid: 'wxpaths5', appsecret: 's', tasks: [{ type: 5 }] }), ADMIN, 400],
  ['type 3 without params', json({ appid: 'wxpaths3', appsecret: 's', tasks: [{ type: 3 }] }), ADMIN, 400],
  ['body is an array', json([{ appid: 'wxpaths' }]), ADMIN, 400],
  ['body is a string', json('hello'), ADMIN, 400],
  ['body is whitespace', utf8('   '), ADMIN, 400],
  ['body is not JSON', utf8('{"appid": "wx'), ADMIN, 400],
  ['body with __proto__', utf8('{"appid":"wxp","appsecret":"s","tasks":[{"type":0}],"__proto__":{"x":1}}'), ADMIN, 400],
  [
    'invalid UTF-8 in a string',
    Buffer.concat([
      utf8('{"appid":"wxpaths","appsecret":"'),
      Buffer.from([0xff, 0xfe]),
      utf8('","tasks":[{"type":0}]}'),
    ]),
    ADMIN,
    200,
  ],
];

for (const [name, body, token, status] of cases) {
  test(`${name}: plain and Koa answers, counters and log lines are the same`, async () => {
    const ways: Way[] = ['plain', 'gzip', 'chunked'];
    const got = [];
    for (const way of ways) {
      const reqId = `paths-${way}-${name.replace(/[^a-z0-9]+/gi, '-')}`;
      const { answer, labels } = await countedAs(() => send(way, body, token, reqId));
      got.push({ way, answer, labels, log: await logLine(reqId) });
    }
    const [first, ...koa] = got;
    const plain = must(first, 'the plain answer');
    assert.is(plain.answer.statusLine.split(' ')[0], String(status), `${name}: ${plain.answer.body}`);
    assert.is(JSON.parse(plain.answer.body).code, status);
    for (const k of koa) {
      // The request id differs by design (each request sent its own); everything else must not.
      const strip = (a: Answer) => ({
        ...a,
        headers: a.headers.map((h) => (h.startsWith('X-Request-Id:') ? 'X-Request-Id' : h)),
      });
      assert.equal(strip(k.answer), strip(plain.answer), `${name}: ${k.way} vs plain`);
      assert.equal(k.labels, plain.labels, `${name}: counters, ${k.way} vs plain`);
      assert.equal(k.log, plain.log, `${name}: log line, ${k.way} vs plain`);
    }
    assert.ok(plain.answer.headers.includes(`X-Request-Id: paths-plain-${name.replace(/[^a-z0-9]+/gi, '-')}`));
  });
}

test('/register answers and counts as /register on both paths', async () => {
  const body = json({ appid: 'wxalias', appsecret: 's', tasks: [{ type: 0 }] });
  const plain = await countedAs(() => send('plain', body, ADMIN, 'alias-plain', '/register'));
  const koa = await countedAs(() => send('gzip', body, ADMIN, 'alias-koa', '/register'));
  assert.is(plain.answer.body, '{"code":200,"message":"","result":"success"}');
  assert.equal(plain.labels, ['/register 200 +1']);
  assert.equal(koa.labels, plain.labels);
  assert.equal(await logLine('alias-plain'), await logLine('alias-koa'));
});

test('which requests are plain (taken before Koa)', () => {
  const h = (o: Record<string, string>) => ({ 'content-type': 'application/json', 'content-length': '10', ...o });
  const limit = 1024 * 1024;
  assert.is(plainBodyLength(h({}), limit), 10);
  assert.is(plainBodyLength(h({ 'content-type': 'application/json; charset=utf-8' }), limit), 10);
  assert.is(plainBodyLength(h({ 'content-type': 'Application/JSON;charset=UTF-8' }), limit), 10);
  assert.is(plainBodyLength(h({ 'content-length': String(limit) }), limit), limit);
  assert.is(plainBodyLength(h({ 'content-length': String(limit + 1) }), limit), null, 'over the limit: Koa says 413');
  assert.is(plainBodyLength(h({ 'content-length': '0' }), limit), null);
  assert.is(plainBodyLength(h({ 'content-type': 'application/json; charset=latin1' }), limit), null);
  assert.is(plainBodyLength(h({ 'content-type': 'text/plain' }), limit), null);
  assert.is(plainBodyLength(h({ 'content-encoding': 'gzip' }), limit), null);
  assert.is(plainBodyLength(h({ 'content-encoding': 'identity' }), limit), null);
  assert.is(plainBodyLength(h({ 'transfer-encoding': 'chunked' }), limit), null);
  assert.is(plainBodyLength({ 'content-type': 'application/json' }, limit), null, 'no Content-Length');
});

test('the registrations took effect on both paths', async () => {
  for (const appid of ['wxpaths', 'wxbom', 'wxscoped', 'wxalias']) {
    const r = await fetch(`${srv.url}/apps/${appid}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.is(r.status, 200, appid);
  }
  const r = await fetch(`${srv.url}/apps/wxother`, { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.is(r.status, 404);
});

test.run();
