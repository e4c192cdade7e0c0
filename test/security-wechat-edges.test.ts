// Issue 15: the edges of WeChat's answers and of registrations. A WeChat that
// answers odd fields (expires_in 1e300, 0.001, true; errcode as a string;
// an errmsg echoing the appsecret in any spelling) is played by a small HTTP
// server here; the real binary talks to it.
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Json } from './helpers/http.js';
import { waitFor } from './helpers/poll.js';
import { RunningServer, startServer, stopAll } from './helpers/server.js';

/** appid → the JSON that cgi-bin/token answers for it. */
const answers = new Map<string, Json>();
const calls = new Map<string, number>();
let wechat: Server;
let srv: RunningServer;

test.before(async () => {
  wechat = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const appid = u.searchParams.get('appid') ?? '';
    calls.set(appid, (calls.get(appid) ?? 0) + 1);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(answers.get(appid) ?? { errcode: 40013, errmsg: 'invalid appid' }));
  });
  await new Promise<void>((r) => wechat.listen(0, '127.0.0.1', r));
  srv = await startServer({ wechatApi: `http://127.0.0.1:${(wechat.address() as AddressInfo).port}`, workers: 1 });
});
test.after(async () => {
  await stopAll();
  await new Promise((r) => wechat.close(r));
});

async function register(appid: string, answer: Json, appsecret = `secret-${appid}`): Promise<void> {
  answers.set(appid, answer);
  const r = await srv.api.register({ appid, appsecret, tasks: [{ type: 0 }] });
  assert.is(r.status, 200, r.text);
}

const lastError = (appid: string) =>
  waitFor(
    `a last_error for ${appid}`,
    async () => {
      const r = await srv.api.get(`/apps/${appid}`);
      const tasks = (r.body.result as { tasks?: Array<{ last_error: string | null }> } | null)?.tasks;
      return tasks?.[0]?.last_error ?? undefined;
    },
    30_000,
  );

test('expires_in 1e300, -5, true, "soon", 0.001 and absent are refused with a clear last_error; /apps keeps working', async () => {
  const cases: Array<[string, unknown]> = [
    ['wxexp1e300', 1e300],
    ['wxexpneg', -5],
    ['wxexptrue', true],
    ['wxexpword', 'soon'],
    ['wxexptiny', 0.001],
    ['wxexpbig', 31 * 86_400],
  ];
  for (const [appid, expires] of cases) await register(appid, { access_token: `AT-${appid}`, expires_in: expires });
  await register('wxexpnone', { access_token: 'AT-none' });
  for (const [appid, expires] of [...cases, ['wxexpnone', undefined] as [string, unknown]]) {
    const err = await lastError(appid);
    assert.match(
      err,
      /expires_in .*not a whole number of seconds from 1 to 2592000 \(30 days\); the value was not stored/,
      `${appid} (${String(expires)}): ${err}`,
    );
    const q = await srv.api.get(`/task/${appid}/0`);
    assert.is.not(q.status, 200, `${appid} serves no value`);
  }
  const page = await srv.api.get('/apps?limit=1000');
  assert.is(page.status, 200, page.text);
  // A refused answer backs off like any failure: no fetch loop.
  const before = calls.get('wxexptiny') ?? 0;
  await new Promise((r) => setTimeout(r, 2_000));
  assert.ok(
    (calls.get('wxexptiny') ?? 0) - before <= 3,
    `fetches of wxexptiny in 2 s: ${(calls.get('wxexptiny') ?? 0) - before}`,
  );
  // A string of digits is a fine expires_in.
  await register('wxexpstr', { access_token: 'AT-str', expires_in: '7200' });
  assert.is(await srv.api.awaitValue('wxexpstr', 0), 'AT-str');
  // After a restart the store holds nothing odd either.
  const dataDir = srv.dataDir;
  assert.is(await srv.stop(), 0);
  srv = await startServer({
    wechatApi: `http://127.0.0.1:${(wechat.address() as AddressInfo).port}`,
    workers: 1,
    dataDir,
  });
  assert.is((await srv.api.get('/apps?limit=1000')).status, 200);
});

test('an errcode given as a string is still an error', async () => {
  await register('wxerrstr', {
    errcode: '40013',
    errmsg: 'invalid appid',
    access_token: 'AT-not-really',
    expires_in: 7200,
  });
  const err = await lastError('wxerrstr');
  assert.match(err, /^WeChat errcode 40013: invalid appid/);
  assert.is.not((await srv.api.get('/task/wxerrstr/0')).status, 200);
  await register('wxerrword', {
    errcode: 'busy',
    errmsg: 'system busy',
    access_token: 'AT-not-really',
    expires_in: 7200,
  });
  assert.match(await lastError('wxerrword'), /errcode that is not a number/);
  assert.is.not((await srv.api.get('/task/wxerrword/0')).status, 200);
});

test('the appsecret is scrubbed from WeChat error text raw, percent- and +-encoded, before the cut to 300 characters', async () => {
  const secret = 'Top Secret/with+plus&more=yes';
  const encoded = encodeURIComponent(secret);
  const form = new URLSearchParams({ s: secret }).toString().slice(2);
  const pad = 'x'.repeat(280);
  // The raw spelling straddles the 300-character cut of errmsg.
  const errmsg = `${pad}${secret} percent ${encoded} lower ${encoded.toLowerCase()} form ${form} url https://api.example/cgi-bin/token?grant_type=client_credential&secret=${form}&x=1`;
  await register('wxscrub1', { errcode: 40125, errmsg }, secret);
  const err = await lastError('wxscrub1');
  // The shard announces the error before it logs it: wait for the line the scan is about.
  await waitFor('the fetch failed line', () =>
    srv.logs().some((l) => l.msg === 'fetch failed' && l.appid === 'wxscrub1'),
  );
  const logs = srv.output();
  for (const spelling of [
    secret,
    encoded,
    encoded.toLowerCase(),
    form,
    secret.slice(0, 12),
    encoded.slice(0, 12),
    form.slice(0, 12),
  ]) {
    assert.not.ok(err.includes(spelling), `last_error holds ${spelling}: ${err}`);
    assert.not.ok(logs.includes(spelling), `the log holds ${spelling}`);
  }
  assert.ok(err.includes('***'), err);
});

test('a type 2 params object without refresh_token is refused, naming the field', async () => {
  const r = await srv.api.register({
    appid: 'wxoauthnort',
    appsecret: 's',
    tasks: [{ type: 2, openid: 'o1', params: { access_token: 'x' } }],
  });
  assert.is(r.status, 400, r.text);
  assert.match(String(r.body.message), /tasks\[0\]\.params\.refresh_token is missing/);
  assert.is((await srv.api.get('/apps/wxoauthnort')).status, 404);
  const ok = await srv.api.register({
    appid: 'wxoauthrt',
    appsecret: 's',
    tasks: [{ type: 2, openid: 'o1', params: { refresh_token: 'rt-1' } }],
  });
  assert.is(ok.status, 200, ok.text);
});

test.run();
