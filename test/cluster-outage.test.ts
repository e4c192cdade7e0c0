// Cluster mode when Redis is not there: at start (one line, exit non-zero),
// and while running (queries from memory, writes 503, /healthz degraded,
// everything back by itself with nothing acknowledged lost).
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from './helpers/poll.js';
import { freePort } from './helpers/ports.js';
import { redisMissing, RunningRedis, startRedis } from './helpers/redis.js';
import { BIN, RunningServer, startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const missing = redisMissing();
const SECRET_KEY = Buffer.alloc(32, 7).toString('hex');

let redis: RunningRedis;
let sim: Sim;
let srv: RunningServer;

test.before(async () => {
  if (missing) return;
  redis = await startRedis(['--requirepass', 'pw-for-tests']);
  sim = await startSim();
});
test.after(async () => {
  if (missing) return;
  await stopAll();
  await sim.close();
  await redis.stop();
});

/** Start the binary and wait for it to exit by itself; its output and exit code. */
function runToExit(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [BIN, '-p', '0', '--data-dir', `${tempDir()}/data`, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('an unreachable Redis at start: exit non-zero with one line naming the URL without its password', async () => {
  if (missing) return console.log(`SKIPPED: ${missing}`);
  const port = await freePort();
  const r = runToExit(['--store', `redis://:hunter2@127.0.0.1:${port}/0`]);
  assert.ok(r.status !== 0 && r.status !== null, `exit ${r.status}`);
  const lines = r.out.trim().split('\n');
  assert.is(lines.length, 1, r.out);
  assert.match(lines[0]!, `127.0.0.1:${port}`);
  assert.not.match(r.out, 'hunter2');
});

test('a wrong Redis password at start: exit non-zero with one line, the password not in it', async () => {
  if (missing) return console.log(`SKIPPED: ${missing}`);
  const r = runToExit(['--store', `redis://:wrong-password@127.0.0.1:${redis.port}`]);
  assert.ok(r.status !== 0 && r.status !== null, `exit ${r.status}`);
  assert.is(r.out.trim().split('\n').length, 1, r.out);
  assert.match(r.out, `127.0.0.1:${redis.port}`);
  assert.not.match(r.out, 'wrong-password');
});

test('Redis down while running: queries from memory, writes 503 naming the store, healthz degraded, then back', async () => {
  if (missing) return console.log(`SKIPPED: ${missing}`);
  await sim.addApp({ appid: 'wxout1', secret: 'sec-out-1' });
  srv = await startServer({
    wechatApi: sim.url,
    workers: 1,
    args: ['--store', `redis://:pw-for-tests@127.0.0.1:${redis.port}`, '--instance-id', 'solo', '--lease-ms', '2000'],
    env: { WECHAT_SCHEDULER_SECRET_KEY: SECRET_KEY },
  });
  assert.is((await srv.api.register({ appid: 'wxout1', appsecret: 'sec-out-1', tasks: [{ type: 0 }] })).status, 200);
  const value = await waitFor('a value', async () => {
    const r = await srv.api.get('/task/wxout1/0');
    return r.status === 200 ? (r.body.result as string) : false;
  });

  await redis.kill();
  const health = await waitFor('healthz to say degraded', async () => {
    const r = await srv.api.get('/healthz');
    return r.status === 200 && String(r.body.result).startsWith('degraded: ') ? String(r.body.result) : false;
  });
  assert.not.match(health, 'pw-for-tests');
  const q = await srv.api.get('/task/wxout1/0');
  assert.is(q.status, 200, q.text);
  assert.is(q.body.result, value);
  const w = await srv.api.register({ appid: 'wxout2', appsecret: 'sec-out-2', tasks: [{ type: 0 }] });
  assert.is(w.status, 503, w.text);
  assert.match(String(w.body.message), `127.0.0.1:${redis.port}`);
  assert.not.match(w.text, 'pw-for-tests');

  await redis.restart();
  await waitFor('healthz ok again', async () => (await srv.api.get('/healthz')).body.result === 'ok', 30_000);
  await sim.addApp({ appid: 'wxout2', secret: 'sec-out-2' });
  const again = await waitFor('a write to be taken again', async () => {
    const r = await srv.api.register({ appid: 'wxout2', appsecret: 'sec-out-2', tasks: [{ type: 0 }] });
    return r.status === 200 ? r : false;
  });
  assert.is(again.status, 200);
  await waitFor('both apps served', async () => {
    const [a, b] = await Promise.all([srv.api.get('/task/wxout1/0'), srv.api.get('/task/wxout2/0')]);
    return a.status === 200 && b.status === 200;
  });
});

test('Redis killed under a stream of registrations: every acknowledged one is there after its restart', async () => {
  if (missing) return console.log(`SKIPPED: ${missing}`);
  const acknowledged: string[] = [];
  let stop = false;
  const writer = (async () => {
    for (let i = 0; !stop; i++) {
      const appid = `wxload${String(i).padStart(4, '0')}`;
      const r = await srv.api.register({ appid, appsecret: `sec-load-${i}`, tasks: [{ type: 0 }] });
      if (r.status === 200) acknowledged.push(appid);
      else assert.is(r.status, 503, r.text);
    }
  })();
  await waitFor('registrations under way', () => acknowledged.length >= 20);
  await redis.kill();
  const before = acknowledged.length;
  await redis.restart();
  await waitFor('registrations acknowledged again', () => acknowledged.length > before + 20, 30_000);
  stop = true;
  await writer;
  // A fresh instance knows only what Redis kept.
  const fresh = await startServer({
    wechatApi: sim.url,
    workers: 1,
    args: ['--store', `redis://:pw-for-tests@127.0.0.1:${redis.port}`, '--instance-id', 'fresh', '--lease-ms', '2000'],
    env: { WECHAT_SCHEDULER_SECRET_KEY: SECRET_KEY },
  });
  const missingApps: string[] = [];
  for (const appid of acknowledged) if ((await fresh.api.get(`/apps/${appid}`)).status !== 200) missingApps.push(appid);
  assert.equal(missingApps, [], `${missingApps.length} of ${acknowledged.length} acknowledged registrations lost`);
});

test('with the secret key set, no appsecret is readable anywhere in Redis', async () => {
  if (missing) return console.log(`SKIPPED: ${missing}`);
  const c = await redis.client('pw-for-tests');
  try {
    const secrets = ['sec-out-1', 'sec-out-2', 'sec-load-1', 'sec-load-2'];
    let keys = 0;
    for await (const batch of c.scanIterator({ COUNT: 500 })) {
      for (const key of batch) {
        keys++;
        const dump = await c.sendCommand(['DUMP', key], { typeMapping: {} });
        const text = Buffer.isBuffer(dump) ? dump.toString('latin1') : String(dump);
        for (const s of secrets) assert.not.match(text, s, `${key} holds an appsecret in the clear`);
      }
    }
    assert.ok(keys > 0, 'Redis holds the cluster keys');
  } finally {
    await c.close();
  }
});

test.run();
