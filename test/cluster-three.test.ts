// Cluster mode (docs/cluster.md): three real instances on one real Redis,
// each calling WeChat through its own counting proxy, so that every call is
// attributed to the instance that made it.
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CountingProxy, startCountingProxy } from './helpers/counting-proxy.js';
import { Json } from './helpers/http.js';
import { sleep, waitFor } from './helpers/poll.js';
import { redisMissing, RunningRedis, startRedis } from './helpers/redis.js';
import { RunningServer, startServer, stopAll } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';
import { slotOf } from '../lib/util/shard-of.js';

const missing = redisMissing();
const LEASE_MS = 2000;
/** Long enough that a takeover (lease + a tick + loading) lands well before a value's refresh is due. */
const EXPIRES_IN = 30;
const APPS = Array.from({ length: 12 }, (_, i) => `wxc${String(i).padStart(2, '0')}`);

let redis: RunningRedis;
let sim: Sim;
const nodes: Array<{ id: string; srv: RunningServer; proxy: CountingProxy }> = [];
/** Every proxy started, also those of instances the tests killed (each must be closed for the process to end). */
const proxies: CountingProxy[] = [];

async function startNode(id: string): Promise<{ id: string; srv: RunningServer; proxy: CountingProxy }> {
  const proxy = await startCountingProxy(sim.url);
  proxies.push(proxy);
  const srv = await startServer({
    wechatApi: proxy.url,
    workers: 1,
    args: ['--store', redis.url, '--instance-id', id, '--lease-ms', String(LEASE_MS)],
  });
  const node = { id, srv, proxy };
  nodes.push(node);
  return node;
}

const cluster = async (srv: RunningServer) => (await srv.api.get('/cluster')).body.result as Json;
const owners = async (srv: RunningServer) => {
  const apps = (await srv.api.get('/apps?limit=1000')).body.result as { apps: Array<{ appid: string; tasks: Json[] }> };
  return new Map(apps.apps.map((a) => [a.appid, a.tasks[0]?.owner as string | null]));
};
const tokenCalls = (p: CountingProxy, appid?: string) =>
  p.calls.filter((c) => c.path === '/cgi-bin/token' && (appid === undefined || c.appid === appid));

test.before(async () => {
  if (missing) return;
  redis = await startRedis();
  sim = await startSim();
  for (const appid of APPS) await sim.addApp({ appid, secret: `s-${appid}`, expiresIn: EXPIRES_IN });
  for (const id of ['node-a', 'node-b', 'node-c']) await startNode(id);
});
test.after(async () => {
  if (missing) return;
  await stopAll();
  await Promise.all(proxies.map((p) => p.close()));
  await sim.close();
  await redis.stop();
});

test('three instances: registrations spread over them are fetched once each and served identically', async () => {
  if (missing) return console.log(`SKIPPED: ${missing}`);
  await waitFor('every instance to see all three', async () => {
    for (const n of nodes) if (((await cluster(n.srv)).instances as Json[]).length !== 3) return false;
    return true;
  });
  // Spread over the three: each registration goes to a different instance.
  for (const [i, appid] of APPS.entries()) {
    const r = await nodes[i % 3]!.srv.api.register({ appid, appsecret: `s-${appid}`, tasks: [{ type: 0 }] });
    assert.is(r.status, 200, r.text);
  }
  const values = new Map<string, string>();
  await waitFor(
    'every instance to serve every app the same value',
    async () => {
      for (const appid of APPS) {
        const answers = await Promise.all(nodes.map((n) => n.srv.api.get(`/task/${appid}/0`)));
        if (answers.some((a) => a.status !== 200)) return false;
        const distinct = new Set(answers.map((a) => a.body.result as string));
        if (distinct.size !== 1) return false;
        values.set(appid, [...distinct][0]!);
      }
      return true;
    },
    30_000,
  );
  for (const appid of APPS) {
    const calls = nodes.flatMap((n) => tokenCalls(n.proxy, appid));
    assert.is(calls.length, 1, `${appid}: ${calls.length} WeChat token calls`);
    assert.ok(await sim.valid(values.get(appid)!), `${appid}: the served value is valid at WeChat`);
  }
  // Every instance names the same owner of each app, one that is live (a slot being handed over
  // has no owner for a moment: the balance may still be moving some), and the shares are fair.
  await waitFor('every instance to name the same live owner of every app', async () => {
    const views = await Promise.all(nodes.map((n) => owners(n.srv)));
    return APPS.every((appid) => {
      const named = new Set(views.map((v) => v.get(appid)));
      const owner = [...named][0];
      return named.size === 1 && nodes.some((n) => n.id === owner);
    });
  });
  await waitFor('each instance to own between 0.5 and 1.5 times its fair share of apps', async () => {
    const c = await cluster(nodes[0]!.srv);
    const counts = (c.instances as Array<{ apps: number }>).map((i) => i.apps);
    const fair = APPS.length / 3;
    return counts.length === 3 && counts.every((n) => n >= 0.5 * fair && n <= 1.5 * fair);
  });
});

test('a passive refresh with the same stale value on every instance at once: one WeChat call, one notify, one new value everywhere', async () => {
  if (missing) return console.log(`SKIPPED: ${missing}`);
  const appid = APPS[0]!;
  const notified: number[] = [];
  const receiver = createServer((req, res) => {
    if (req.url?.includes(`appid=${appid}`)) notified.push(Date.now());
    res.end('ok');
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const notify = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/notify`;
  try {
    // The notify URL by a re-registration (on another instance than the owner, as a client would).
    assert.is(
      (await nodes[1]!.srv.api.register({ appid, appsecret: `s-${appid}`, tasks: [{ type: 0, notify }] })).status,
      200,
    );
    const stale = (await nodes[0]!.srv.api.get(`/task/${appid}/0`)).body.result as string;
    const calls = nodes.reduce((sum, n) => sum + tokenCalls(n.proxy, appid).length, 0);
    await sleep(1_500); // the registration reached the owner (change feed): its notify URL is the new one
    const answers = await Promise.all(
      nodes.flatMap((n) => [1, 2, 3].map(() => n.srv.api.post(`/task/${appid}/0/refresh`, { stale }))),
    );
    for (const a of answers) assert.is(a.status, 200, a.text);
    const fresh = new Set(answers.map((a) => a.body.result as string));
    assert.is(fresh.size, 1, `answers: ${[...fresh].join(', ')}`);
    assert.is.not([...fresh][0], stale);
    assert.is(nodes.reduce((sum, n) => sum + tokenCalls(n.proxy, appid).length, 0) - calls, 1, 'WeChat calls');
    await waitFor('the notify', () => notified.length >= 1);
    await sleep(1_000);
    assert.is(notified.length, 1, 'notifies for one fetch');
    await waitFor('every instance to serve the new value', async () => {
      const vs = await Promise.all(nodes.map((n) => n.srv.api.get(`/task/${appid}/0`)));
      return vs.every((v) => v.body.result === [...fresh][0]);
    });
  } finally {
    receiver.closeAllConnections();
    receiver.close();
  }
});

test('registered on one instance, deleted on another: gone everywhere, fetched by nobody', async () => {
  if (missing) return console.log(`SKIPPED: ${missing}`);
  const appid = 'wxgone';
  await sim.addApp({ appid, secret: 's-gone', expiresIn: 4 });
  assert.is((await nodes[0]!.srv.api.register({ appid, appsecret: 's-gone', tasks: [{ type: 0 }] })).status, 200);
  await waitFor('served everywhere', async () =>
    (await Promise.all(nodes.map((n) => n.srv.api.get(`/task/${appid}/0`)))).every((r) => r.status === 200),
  );
  assert.is((await nodes[2]!.srv.api.del(`/app/${appid}`)).status, 200);
  await waitFor('gone everywhere', async () =>
    (await Promise.all(nodes.map((n) => n.srv.api.get(`/task/${appid}/0`)))).every((r) => r.status === 404),
  );
  const calls = nodes.reduce((sum, n) => sum + tokenCalls(n.proxy, appid).length, 0);
  // Its 4 s token would have been refreshed within this time.
  await sleep(6_000);
  assert.is(
    nodes.reduce((sum, n) => sum + tokenCalls(n.proxy, appid).length, 0),
    calls,
    'WeChat calls after the delete',
  );
});

test('kill -9 of the busiest owner: the others serve every app through a full refresh cycle, one call per refresh', async () => {
  if (missing) return console.log(`SKIPPED: ${missing}`);
  const c = await cluster(nodes[0]!.srv);
  const busiest = (c.instances as Array<{ id: string; apps: number }>).sort((a, b) => b.apps - a.apps)[0]!.id;
  const victim = nodes.find((n) => n.id === busiest)!;
  const survivors = nodes.filter((n) => n !== victim);
  const killedAt = Date.now();
  process.kill(-victim.srv.pid, 'SIGKILL');
  await victim.srv.exited;
  // Through a whole refresh cycle of every app: every answer is a value valid at WeChat.
  const until = Date.now() + (EXPIRES_IN + 5) * 1000;
  let polls = 0;
  while (Date.now() < until) {
    for (const appid of APPS) {
      const n = survivors[polls % 2]!;
      const askedAt = Date.now();
      const r = await n.srv.api.get(`/task/${appid}/0`);
      assert.is(
        r.status,
        200,
        `${n.id} ${appid} ${Math.round((askedAt - killedAt) / 1000)} s after the kill: ${r.text}`,
      );
      assert.ok(await sim.validWhenAsked(r.body.result as string, askedAt), `${n.id} ${appid}: an expired value`);
    }
    polls++;
    await sleep(500);
  }
  // The dead instance's apps moved to the survivors within the lease and a few seconds.
  const views = await Promise.all(survivors.map((n) => owners(n.srv)));
  for (const appid of APPS)
    assert.ok(
      views.every((v) => v.get(appid) !== busiest),
      `${appid} still owned by ${busiest}`,
    );
  // Every app was refreshed (its first value ran out meanwhile), each refresh by exactly one call:
  // two token calls of one app closer than half its lifetime would be a second refresher.
  for (const appid of APPS) {
    const all = nodes.flatMap((n) => tokenCalls(n.proxy, appid).map((call) => call.at)).sort((a, b) => a - b);
    // From the last call before the kill (earlier ones include a forced refresh of the test above).
    const last = all.filter((t) => t < killedAt).pop() ?? 0;
    const at = all.filter((t) => t >= last);
    assert.ok(at.length >= 2, `${appid}: ${at.length} token calls in a whole cycle`);
    for (let i = 1; i < at.length; i++)
      assert.ok(
        at[i]! - at[i - 1]! > (EXPIRES_IN * 1000) / 2,
        `${appid}: two token calls ${at[i]! - at[i - 1]!} ms apart`,
      );
  }
  nodes.splice(nodes.indexOf(victim), 1);
});

test('a new instance takes its share at no WeChat cost', async () => {
  if (missing) return console.log(`SKIPPED: ${missing}`);
  const joiner = await startNode('node-d');
  const before = nodes.reduce((sum, n) => sum + tokenCalls(n.proxy).length, 0);
  await waitFor(
    'the joiner to own apps and the shares to be fair',
    async () => {
      const c = await cluster(joiner.srv);
      const counts = (c.instances as Array<{ id: string; apps: number }>).map((i) => i.apps);
      const fair = APPS.length / 3;
      return counts.length === 3 && counts.every((n) => n >= 0.5 * fair && n <= 1.5 * fair);
    },
    30_000,
  );
  for (const appid of APPS) assert.is((await joiner.srv.api.get(`/task/${appid}/0`)).status, 200);
  const after = nodes.reduce((sum, n) => sum + tokenCalls(n.proxy).length, 0);
  // Values were not due (30 s lifetimes, just refreshed): moving apps fetched nothing.
  const due = APPS.length; // at most one scheduled refresh of each app can fall in this window
  assert.ok(after - before <= due, `${after - before} calls while the joiner took its share`);
  assert.is(tokenCalls(joiner.proxy).length <= due, true);
});

test('SIGSTOP past the lease, then SIGCONT: the resumed instance calls WeChat for none of the apps it lost', async () => {
  if (missing) return console.log(`SKIPPED: ${missing}`);
  const sleeper = nodes[0]!;
  const held = [...(await owners(sleeper.srv)).entries()].filter(([, o]) => o === sleeper.id).map(([a]) => a);
  assert.ok(held.length > 0, `${sleeper.id} owns apps before the pause`);
  process.kill(-sleeper.srv.pid, 'SIGSTOP');
  const others = nodes.filter((n) => n !== sleeper);
  await waitFor(
    'the others to take the paused instance’s apps',
    async () => {
      const view = await owners(others[0]!.srv);
      return held.every((a) => view.get(a) !== sleeper.id && view.get(a) !== null);
    },
    LEASE_MS + 20_000,
  );
  const resumedAt = Date.now();
  process.kill(-sleeper.srv.pid, 'SIGCONT');
  // Long enough for every app's next refresh to fall due somewhere.
  await sleep((EXPIRES_IN + 3) * 1000);
  // After it woke, the instance may take slots again (the balance hands some back): a call for an
  // app it lost is fair only once its log says it took that app's slot again.
  const at = (l: Record<string, unknown>) => (typeof l.time === 'string' ? Date.parse(l.time) : Number(l.time));
  const calls = sleeper.proxy.calls.filter((c) => c.at >= resumedAt && held.includes(c.appid));
  const lateCalls = () => {
    const taken = sleeper.srv
      .logs()
      .filter((l) => l.msg === 'took slot leases' && at(l) >= resumedAt)
      .map((l) => ({ at: at(l), slots: l.slots as number[] }));
    return calls.filter((c) => !taken.some((t) => t.at <= c.at && t.slots.includes(slotOf(c.appid))));
  };
  // The proxy sees a call at once; the take line written before it may still be on its way to stdout.
  for (let i = 0; i < 50 && lateCalls().length > 0; i++) await sleep(100);
  const late = lateCalls();
  const leaseLog = sleeper.srv
    .logs()
    .filter((l) => typeof l.msg === 'string' && /slot leases|lease/.test(l.msg))
    .map((l) => `${String(l.time)} ${String(l.msg)} ${JSON.stringify(l.slots ?? l.why ?? '')}`.slice(0, 300));
  assert.equal(
    late.map((c) => ({ ...c, slot: slotOf(c.appid) })),
    [],
    `${late.length} WeChat calls by the resumed instance (resumed at ${resumedAt}) for apps it had lost; its lease log:\n${leaseLog.join('\n')}`,
  );
  // And it serves what the owners stored, not what it held when it was paused.
  await waitFor('every instance to serve the same value of every app', async () => {
    for (const appid of APPS) {
      const answers = await Promise.all(nodes.map((n) => n.srv.api.get(`/task/${appid}/0`)));
      if (answers.some((a) => a.status !== 200) || new Set(answers.map((a) => a.body.result)).size !== 1) return false;
    }
    return true;
  });
});

test.run();
