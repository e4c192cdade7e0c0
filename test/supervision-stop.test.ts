// docs/api.md §8 SIGTERM/SIGINT: stop accepting, finish in-flight requests, flush,
// exit 0 within 10 s, with a log line.
import { connect } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sleep, waitFor } from './helpers/poll.js';
import { startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

let sim: Sim;
test.before(async () => {
  sim = await startSim({ expiresIn: 7200 });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

/** True when a new TCP connection to the port is refused. */
const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });

test('SIGTERM while a slow refresh is in flight: it completes, new connections are refused, exit 0 within 10 s, state flushed', async () => {
  const dataDir = `${tempDir()}/data`;
  const srv = await startServer({ wechatApi: sim.url, workers: 2, dataDir });
  assert.is((await srv.api.register({ appid: 'wxstop', appsecret: 's-stop', tasks: [{ type: 0 }] })).status, 200);
  const old = await waitFor('value', () => srv.api.value('wxstop', 0).catch(() => null));
  await sim.fault({ endpoint: 'token', appid: 'wxstop', delayMs: 3_000 });
  const slow = srv.api.post('/task/wxstop/0/refresh', { stale: old });
  await waitFor('the refresh to reach WeChat', async () => (await sim.calls('wxstop')).token === 2);
  const t0 = Date.now();
  srv.signal('SIGTERM');
  await waitFor('new connections to be refused', () => refused(srv.port), 5_000, 50);
  const answer = await slow;
  const answeredMs = Date.now() - t0;
  assert.is(answer.status, 200, answer.text);
  assert.is.not(answer.body.result, old);
  const code = await srv.exited;
  const exitMs = Date.now() - t0;
  console.log(`  slow request answered ${answeredMs} ms after SIGTERM, exit ${code} after ${exitMs} ms`);
  assert.is(code, 0);
  assert.ok(exitMs < 10_000, `exit after ${exitMs} ms`);
  assert.ok(srv.logs().some((l) => l.msg === 'stopping' && l.signal === 'SIGTERM'));
  assert.ok(srv.logs().some((l) => l.msg === 'stopped' && l.role === 'supervisor'));

  // Flushed: a restart serves the refreshed value without asking WeChat.
  const fetches = (await sim.calls('wxstop')).token;
  const again = await startServer({ wechatApi: sim.url, workers: 2, dataDir });
  assert.is(await again.api.value('wxstop', 0), answer.body.result);
  await sleep(500);
  assert.is((await sim.calls('wxstop')).token, fetches);
  assert.is(await again.stop('SIGINT'), 0);
  assert.ok(again.logs().some((l) => l.msg === 'stopping' && l.signal === 'SIGINT'));
});

test('SIGTERM while WeChat hangs past the deadline: exit 0 within 10 s anyway', async () => {
  const srv = await startServer({ wechatApi: sim.url, workers: 2, args: ['--wechat-timeout', '60000'] });
  assert.is((await srv.api.register({ appid: 'wxhang', appsecret: 's-hang', tasks: [{ type: 0 }] })).status, 200);
  const old = await waitFor('value', () => srv.api.value('wxhang', 0).catch(() => null));
  await sim.fault({ endpoint: 'token', appid: 'wxhang', hang: true });
  const stuck = srv.api.post('/task/wxhang/0/refresh', { stale: old }).catch((e: Error) => e);
  await waitFor('the refresh to reach WeChat', async () => (await sim.calls('wxhang')).token === 2);
  const t0 = Date.now();
  srv.signal('SIGTERM');
  const code = await srv.exited;
  const exitMs = Date.now() - t0;
  console.log(`  exit ${code} after ${exitMs} ms with a WeChat call hanging`);
  assert.is(code, 0);
  assert.ok(exitMs < 10_000, `exit after ${exitMs} ms`);
  await stuck;
});

test('an idle server stops at once', async () => {
  const srv = await startServer({ wechatApi: sim.url, workers: 2 });
  assert.is((await srv.api.get('/healthz')).status, 200); // leaves an idle keep-alive connection
  const t0 = Date.now();
  assert.is(await srv.stop('SIGTERM'), 0);
  const ms = Date.now() - t0;
  console.log(`  idle stop in ${ms} ms`);
  assert.ok(ms < 5_000, `stopped after ${ms} ms`);
});

test.run();
