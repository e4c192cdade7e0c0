// Cluster mode keeps the single server's promises on each instance: a
// SIGHUP reload hands the instance's slots to its next generation without a
// failed query or a second WeChat call, and SIGTERM gives them up at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sleep, waitFor } from './helpers/poll.js';
import { redisMissing, RunningRedis, startRedis } from './helpers/redis.js';
import { RunningServer, startServer, stopAll } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const missing = redisMissing();
let redis: RunningRedis;
let sim: Sim;

test.before(async () => {
  if (missing) return;
  redis = await startRedis();
  sim = await startSim({ expiresIn: 7200 });
});
test.after(async () => {
  if (missing) return;
  await stopAll();
  await sim.close();
  await redis.stop();
});

const node = (id: string) =>
  startServer({
    wechatApi: sim.url,
    workers: 2,
    args: ['--store', redis.url, '--instance-id', id, '--lease-ms', '2000'],
  });
const reloads = (srv: RunningServer) =>
  srv.logs().filter((l) => l.msg === 'reload: new generation owns the apps').length;

test('SIGHUP: the next generation takes the slots over; queries never fail, nothing is fetched again', async () => {
  if (missing) return console.log(`SKIPPED: ${missing}`);
  const srv = await node('reloading');
  const apps = ['wxr1', 'wxr2', 'wxr3', 'wxr4'];
  for (const appid of apps) {
    await sim.addApp({ appid, secret: `s-${appid}` });
    assert.is((await srv.api.register({ appid, appsecret: `s-${appid}`, tasks: [{ type: 0 }] })).status, 200);
  }
  const values = await waitFor('every value', async () => {
    const vs = await Promise.all(apps.map((a) => srv.api.get(`/task/${a}/0`)));
    return vs.every((v) => v.status === 200) ? vs.map((v) => v.body.result as string) : false;
  });
  srv.signal('SIGHUP');
  let polls = 0;
  while (reloads(srv) === 0 || polls < 20) {
    for (const [i, appid] of apps.entries()) {
      const r = await srv.api.get(`/task/${appid}/0`);
      assert.is(r.status, 200, `poll ${polls} ${appid}: ${r.text}`);
      assert.is(r.body.result, values[i]);
    }
    polls++;
    assert.ok(polls < 600, 'the reload finished');
    await sleep(100);
  }
  // The new generation owns the apps again (a forced refresh reaches an owner).
  await waitFor('the new generation to own the apps', async () => {
    const r = await srv.api.get('/apps?limit=10');
    const list = (r.body.result as { apps: Array<{ tasks: Array<{ owner: string | null }> }> }).apps;
    return list.every((a) => a.tasks.every((t) => t.owner === 'reloading'));
  });
  await sleep(1_000);
  const stats = (await sim.stats()).byApp;
  for (const appid of apps) assert.is(stats[appid]?.token, 1, `${appid}: WeChat calls`);
  assert.is(await srv.stop(), 0);
});

test('SIGTERM: the stopping instance gives its slots up at once, the other serves and owns them', async () => {
  if (missing) return console.log(`SKIPPED: ${missing}`);
  const a = await node('stays');
  const b = await node('leaves');
  await waitFor('both instances in the cluster', async () => {
    const c = (await a.api.get('/cluster')).body.result as { instances: unknown[] };
    return c.instances.length === 2;
  });
  await waitFor('the leaving instance to own apps', async () => {
    const c = (await a.api.get('/cluster')).body.result as { instances: Array<{ id: string; apps: number }> };
    return (c.instances.find((i) => i.id === 'leaves')?.apps ?? 0) > 0;
  });
  assert.is(await b.stop(), 0);
  // Given back before it exited, not left to run out: no lease in Redis names it any more.
  const c = await redis.client();
  try {
    const leases: string[] = [];
    for await (const batch of c.scanIterator({ MATCH: 'wechat-scheduler:lease:*', COUNT: 1000 }))
      for (const key of batch) leases.push(String(await c.get(key)));
    assert.ok(leases.length > 0, 'the staying instance holds leases');
    assert.equal(
      leases.filter((v) => v.startsWith('leaves|')),
      [],
      'leases of the stopped instance',
    );
  } finally {
    await c.close();
  }
  await waitFor('the staying instance to own every app', async () => {
    const r = await a.api.get('/apps?limit=100');
    const list = (r.body.result as { apps: Array<{ tasks: Array<{ owner: string | null }> }> }).apps;
    return list.length > 0 && list.every((x) => x.tasks.every((t) => t.owner === 'stays'));
  });
});

test.run();
