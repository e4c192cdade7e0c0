// GET /task/:appid/:type?detail=1 → {value, expires_at, refreshed_at}. A
// successful GET /task is answered by the fast path in front of Koa when a
// token is configured; in protected mode (no token, loopback client) Koa
// answers it. Both must give the same answer: the same task is read through
// each, by two servers run one after the other on one data directory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Reply } from './helpers/http.js';
import { startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

let sim: Sim;
test.before(async () => {
  sim = await startSim();
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function checkDetail(r: Reply, value: string) {
  assert.is(r.status, 200, r.text);
  const d = r.body.result as Record<string, string>;
  assert.equal(Object.keys(d).sort(), ['expires_at', 'refreshed_at', 'value']);
  assert.is(d.value, value);
  assert.match(d.expires_at!, ISO_UTC);
  assert.match(d.refreshed_at!, ISO_UTC);
  const lifetime = Date.parse(d.expires_at!) - Date.parse(d.refreshed_at!);
  assert.ok(
    lifetime > 7000_000 && lifetime <= 7200_000,
    `expires_at - refreshed_at = ${lifetime} ms for a 7200 s token`,
  );
  return d;
}

test('fast path (token) and Koa (protected mode) give the same detail for the same task; bad detail is 400 on both', async () => {
  const dataDir = `${tempDir()}/data`;
  const fast = await startServer({ wechatApi: sim.url, dataDir, args: ['--token', 'dt'], token: 'dt' });
  await fast.api.register({
    appid: 'wxdetail',
    appsecret: 's',
    tasks: [{ type: 0 }, { type: 2, openid: 'u1', params: { refresh_token: 'rt-u1' } }],
  });
  const value = await fast.api.awaitValue('wxdetail', 0);
  const viaFast = await fast.api.get('/task/wxdetail/0?detail=1');
  const d = checkDetail(viaFast, value);
  const atSim = (await (await fetch(`${sim.url}/__sim/valid?token=${encodeURIComponent(value)}`)).json()) as {
    expiresAt: number;
  };
  assert.ok(Math.abs(Date.parse(d.expires_at!) - atSim.expiresAt) < 60_000, "expires_at is WeChat's expiry");
  assert.equal((await fast.api.get('/task/wxdetail/0?detail=true')).body, viaFast.body);
  assert.equal((await fast.api.get('/task/wxdetail/0?detail=0')).body, { code: 200, message: '', result: value });
  const oauth = await fast.api.awaitValue('wxdetail', 2, '?openid=u1');
  checkDetail(await fast.api.get('/task/wxdetail/2?openid=u1&detail=1'), oauth);
  const badFast = await fast.api.get('/task/wxdetail/0?detail=yes');
  assert.is(badFast.status, 400);
  assert.match(String(badFast.body.message), /detail must be 1/);
  await fast.stop();

  const koa = await startServer({ wechatApi: sim.url, dataDir });
  const viaKoa = await koa.api.get('/task/wxdetail/0?detail=1');
  assert.is(viaKoa.text, viaFast.text, 'byte for byte the answer of the fast path');
  assert.equal((await koa.api.get('/task/wxdetail/0')).body.result, value);
  assert.equal((await koa.api.get('/task/wxdetail/0?detail=yes')).body, badFast.body);
  await koa.stop();
});

test('POST …/refresh?detail=1 answers the new value with its detail', async () => {
  const srv = await startServer({ wechatApi: sim.url });
  await srv.api.register({ appid: 'wxdetail2', appsecret: 's', tasks: [{ type: 0 }] });
  const old = await srv.api.awaitValue('wxdetail2', 0);
  const r = await srv.api.post('/task/wxdetail2/0/refresh?detail=1', { stale: old });
  const d = checkDetail(r, await srv.api.value('wxdetail2', 0));
  assert.is.not(d.value, old);
  assert.is(r.headers.get('x-scheduler-refresh'), 'fetched');
});

test.run();
