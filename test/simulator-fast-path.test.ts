// The simulator answers common WeChat calls without Koa (wechat-fast-path.ts)
// and leaves the rest to the Koa routes. Both must send the same bytes: the
// same calls run on two fresh simulators, one answering through the fast
// path and one forced through Koa (a pending fault rule that matches none of
// the calls), and every response (status line, headers in order, body) and
// the final /__sim/stats must be equal, with only the Date header, the
// random token values and the connections open at that instant told apart.
import { connect } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startSimulator, type RunningSimulator } from '../lib/simulator/index.js';
import { at } from './helpers/must.js';

/** Sends `request` as written on a fresh connection and returns the whole response. */
function raw(sim: RunningSimulator, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(sim.port, '127.0.0.1', () => socket.end(request));
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
const post = (path: string, body: string, type = 'application/json') =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/** The value of a JSON string field in a raw response, for the next call. */
function field(response: string, key: string): string {
  const m = new RegExp(`"${key}":"([^"]*)"`).exec(response);
  if (!m) throw new Error(`no ${key} in ${response}`);
  return at(m, 1, key);
}

/** Runs one history of calls and returns every raw response, then the stats. */
async function history(sim: RunningSimulator): Promise<string[]> {
  const out: string[] = [];
  const r = async (request: string) => {
    const response = await raw(sim, request);
    out.push(response);
    return response;
  };
  const at = await r(get('/cgi-bin/token?grant_type=client_credential&appid=wxA&secret=s1'));
  await r(get('/cgi-bin/token?grant_type=client_credential&appid=wxA&secret=wrong'));
  await r(get('/cgi-bin/token?grant_type=client_credential&appid=&secret=s1'));
  await r(get('/cgi-bin/token?grant_type=client_credential&appid=wxB'));
  await r(get('/cgi-bin/token?appid=wxA&secret=s1'));
  await r(get('/cgi-bin/token?grant_type=client_credential&appid=wx%41&appid=wxZ&secret=s1&secret=other'));
  await r(get('/cgi-bin/token?grant_type=client+credential&appid=wxA&secret=s1'));
  await r(get('/cgi-bin/token'));
  await r(get('/cgi-bin/token?'));
  await r(get('/cgi-bin/token?grant_type=client_credential&appid=wx%E4%B8%AD&secret=%ZZ'));
  await r(get(`/cgi-bin/ticket/getticket?access_token=${field(at, 'access_token')}&type=jsapi`));
  await r(get('/cgi-bin/ticket/getticket?access_token=nope&type=jsapi'));
  const oauth = await r(get('/sns/oauth2/refresh_token?appid=wxA&grant_type=refresh_token&refresh_token=rt1'));
  await r(
    get(`/sns/oauth2/refresh_token?appid=wxA&grant_type=refresh_token&refresh_token=${field(oauth, 'refresh_token')}`),
  );
  await r(get('/sns/oauth2/refresh_token?appid=wxA&grant_type=refresh_token&refresh_token=rt1'));
  const cat = await r(
    post(
      '/cgi-bin/component/api_component_token',
      JSON.stringify({ component_appid: 'wxC', component_appsecret: 'cs', component_verify_ticket: 't' }),
      'text/plain',
    ),
  );
  await r(post('/cgi-bin/component/api_component_token', '{nope'));
  await r(post('/cgi-bin/component/api_component_token', '[1]'));
  await r(post('/cgi-bin/component/api_component_token', ''));
  await r(
    post(
      '/cgi-bin/component/api_component_token',
      '{"component_appid":"wxC","component_appsecret":"cs","component_verify_ticket":""}',
    ),
  );
  const path = `/cgi-bin/component/api_authorizer_token?component_access_token=${field(cat, 'component_access_token')}`;
  const auth = await r(
    post(
      path,
      JSON.stringify({ component_appid: 'wxC', authorizer_appid: 'wxAuth', authorizer_refresh_token: 'art0' }),
    ),
  );
  await r(
    post(
      path,
      JSON.stringify({
        component_appid: 'wxC',
        authorizer_appid: 'wxAuth',
        authorizer_refresh_token: field(auth, 'authorizer_refresh_token'),
      }),
    ),
  );
  await r(
    post(
      path,
      JSON.stringify({ component_appid: 'wxC', authorizer_appid: 'wxAuth', authorizer_refresh_token: 'art0' }),
    ),
  );
  await r(
    post(
      '/cgi-bin/component/api_authorizer_token?component_access_token=bad',
      '{"component_appid":"wxC","authorizer_appid":12}',
    ),
  );
  await r(
    post('/cgi-bin/stable_token', JSON.stringify({ grant_type: 'client_credential', appid: 'wxS', secret: 's1' })),
  );
  await r(
    post('/cgi-bin/stable_token', JSON.stringify({ grant_type: 'client_credential', appid: 'wxS', secret: 's1' })),
  );
  await r(
    post(
      '/cgi-bin/stable_token',
      JSON.stringify({ grant_type: 'client_credential', appid: 'wxS', secret: 's1', force_refresh: true }),
    ),
  );
  await r(
    post(
      '/cgi-bin/stable_token',
      JSON.stringify({ grant_type: 'client_credential', appid: 'wxS', secret: 's1', force_refresh: true }),
    ),
  );
  // Not the fast path on either simulator: method and path shapes Koa's router decides on.
  await r(get('/cgi-bin/token/?grant_type=client_credential&appid=wxA&secret=s1'));
  await r(
    `HEAD /cgi-bin/token?grant_type=client_credential&appid=wxA&secret=s1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
  );
  await r(post('/cgi-bin/token?grant_type=client_credential&appid=wxA&secret=s1', '{}'));
  await r(get('/cgi-bin/stable_token'));
  const stats = await raw(sim, get('/__sim/stats'));
  out.push(stats.slice(stats.indexOf('\r\n\r\n')));
  return out;
}

/** Masks what differs between two runs by chance: the date and random token values. */
const mask = (response: string) =>
  response
    .replace(/^Date: .*$/m, 'Date: -')
    .replace(/\b(AT|SAT|TICKET|OAT|CAT|AAT|ORT|ART)_[0-9a-f]{48}\b/g, '$1_-')
    // A stable_token answered again reports the seconds left: 7200 or 7199 by the millisecond.
    .replace(/"expires_in":(7200|7199)\}/g, '"expires_in":7200}')
    // Whether the last connection's close was seen yet is timing, not path.
    .replace(/"connections":\{"open":\d+/, '"connections":{"open":-');

let fast: RunningSimulator;
let koa: RunningSimulator;

test.before(async () => {
  fast = await startSimulator({ port: 0 });
  koa = await startSimulator({ port: 0 });
  // Request ids in errmsgs are random: without them both paths answer the same bytes.
  for (const s of [fast, koa])
    assert.is(
      (await fetch(`${s.url}/__sim/config`, { method: 'POST', body: JSON.stringify({ rid: false }) })).status,
      200,
    );
  // Pending and never matching: every WeChat call of `koa` goes through the Koa routes.
  const rule = await fetch(`${koa.url}/__sim/faults`, {
    method: 'POST',
    body: JSON.stringify({ endpoint: 'ticket', appid: 'nobody', errcode: -1, times: 0 }),
  });
  assert.is(rule.status, 200);
});
test.after(async () => {
  await fast.close();
  await koa.close();
});

test('fast path and Koa routes send the same bytes for the same calls', async () => {
  const a = await history(fast);
  const b = await history(koa);
  assert.is(a.length, b.length);
  a.forEach((x, i) => assert.fixture(mask(x), mask(at(b, i, 'Koa response'))));
  const first = at(a, 0, 'fast-path response');
  assert.match(
    first,
    /^HTTP\/1\.1 200 OK\r\nContent-Type: application\/json; charset=utf-8\r\nContent-Length: \d+\r\nDate: /,
  );
  assert.match(first, /\{"access_token":"AT_[0-9a-f]{48}","expires_in":7200\}$/);
});

test('a fault rule added while a POST body is on its way is played (the call moves to the Koa routes)', async () => {
  const socket = connect(fast.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const body = JSON.stringify({ grant_type: 'client_credential', appid: 'wxLate', secret: 's1' });
  socket.write(
    `POST /cgi-bin/stable_token HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  const closed = new Promise((resolve) => socket.on('close', resolve));
  await new Promise((resolve) => setTimeout(resolve, 100)); // the headers have arrived; the body has not
  const rule = await fetch(`${fast.url}/__sim/faults`, {
    method: 'POST',
    body: JSON.stringify({ endpoint: 'stable', appid: 'wxLate', errcode: 45009 }),
  });
  assert.is(rule.status, 200);
  socket.end(body);
  await closed;
  const response = Buffer.concat(chunks).toString('utf8');
  assert.match(response, /\{"errcode":45009,"errmsg":"reach max api daily quota limit"\}$/);
  const faults = (await (await fetch(`${fast.url}/__sim/faults`)).json()) as { faults: unknown[] };
  assert.equal(faults.faults, [], 'the rule was used up');
});

test.run();
