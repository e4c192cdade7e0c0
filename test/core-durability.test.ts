// docs/api.md §8 durability: kill -9 and restart serve every value at once with
// no extra WeChat fetch; and piscina's idle threads still fire their timers.
import { readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Json } from './helpers/http.js';
import { waitFor } from './helpers/poll.js';
import { portToName } from './helpers/ports.js';
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

test('kill -9, then restart on the same data dir: every value served at once, zero extra fetches', async () => {
  const dataDir = join(tempDir(), 'data');
  const first = await startServer({ wechatApi: sim.url, dataDir });
  await first.api.register({ appid: 'wxdur0', appsecret: 's0', tasks: [{ type: 0 }, { type: 1 }] });
  await first.api.register({
    appid: 'wxdurc',
    appsecret: 'sc',
    tasks: [
      { type: 3, params: { component_verify_ticket: 'tk' } },
      { type: 4, authorizer_appid: 'wxdura1', params: { authorizer_refresh_token: 'art-d1' } },
      { type: 4, authorizer_appid: 'wxdura2', params: { authorizer_refresh_token: 'art-d2' } },
    ],
  });
  await first.api.register({
    appid: 'wxduro',
    appsecret: 'so',
    tasks: [{ type: 2, openid: 'ud', params: { refresh_token: 'rt-d' } }],
  });
  const queries = [
    '/task/wxdur0/0',
    '/task/wxdur0/1',
    '/task/wxdurc/3',
    '/task/wxdurc/4?authorizer_appid=wxdura1',
    '/task/wxdurc/4?authorizer_appid=wxdura2',
    '/task/wxduro/2',
  ];
  const before: string[] = [];
  for (const q of queries) {
    before.push(
      await waitFor(q, async () => {
        const r = await first.api.get(q);
        return r.status === 200 ? (r.body.result as string) : undefined;
      }),
    );
  }
  const stats = await sim.stats();
  // Directory 0700, store files 0600.
  assert.is(statSync(dataDir).mode & 0o777, 0o700);
  assert.is(statSync(join(dataDir, 'wechat-scheduler.db')).mode & 0o777, 0o600);

  first.signal('SIGKILL');
  await first.exited;
  const second = await startServer({ wechatApi: sim.url, dataDir });
  // At once: the very first query after "listening" is answered with the same values.
  for (const [i, query] of queries.entries()) {
    const r = await second.api.get(query);
    assert.is(r.status, 200, `${query}: ${r.text}`);
    assert.is(r.body.result, before[i], query);
  }
  const apps = await second.api.get('/apps');
  assert.is((apps.body.result as Json).total, 3);
  // Give a wrongly eager restart time to show itself, then count.
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal((await sim.stats()).calls, stats.calls, 'no WeChat call after the restart');
  // The kept refresh token survived too: a forced refresh of an authorizer works.
  const r = await second.api.post('/task/wxdurc/4/refresh?authorizer_appid=wxdura1', { stale: before[3] });
  assert.is(r.status, 200, r.text);
  assert.ok(await sim.valid(r.body.result as string));
  assert.is(await second.stop(), 0);
});

test('an idle shard thread still refreshes on time (piscina atomics trap)', async () => {
  // One shard thread that receives no command between registration and the refresh.
  await sim.addApp({ appid: 'wxidle', secret: 'si', expiresIn: 3 });
  const srv = await startServer({ wechatApi: sim.url, workers: 1 });
  await srv.api.register({ appid: 'wxidle', appsecret: 'si', tasks: [{ type: 0 }] });
  // Only the front is asked from now on; the thread must wake by its own timer.
  await waitFor(
    "three fetches driven by the thread's timers",
    async () => (await sim.calls('wxidle')).token >= 3,
    20_000,
    200,
  );
  assert.is(await srv.stop(), 0);
});

/** Running (not gone, not a zombie waiting to be reaped). */
function alive(pid: number): boolean {
  try {
    return !/State:\s+[ZX]/.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

test('kill -9 of the supervisor alone: its generation dies with it, and a restart on the same port listens', async () => {
  const port = await portToName();
  const dataDir = join(tempDir(), 'data');
  const first = await startServer({ wechatApi: sim.url, dataDir, args: ['-p', String(port)] });
  const generation = await waitFor(
    'the generation pid',
    () => first.logs().find((l) => l.msg === 'generation started')?.pid as number | undefined,
  );
  assert.ok(alive(generation));
  first.signal('SIGKILL'); // the supervisor only, not its process group
  await first.exited;
  await waitFor('the orphaned generation to die', () => !alive(generation), 3_000, 20);
  const second = await startServer({ wechatApi: sim.url, dataDir, args: ['-p', String(port)] });
  assert.is(second.port, port);
  assert.is(await second.stop(), 0);
});

test('a port still held at start is retried for a few seconds, then served', async () => {
  const port = await portToName();
  const blocker = createServer().listen(port, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  const starting = startServer({ wechatApi: sim.url, args: ['-p', String(port)] });
  setTimeout(() => blocker.close(), 1_000);
  const srv = await starting;
  assert.is(srv.port, port);
  assert.is((await srv.api.get('/healthz')).status, 200);
  assert.is(await srv.stop(), 0);
});

test.run();
