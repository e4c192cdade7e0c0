// docs/api.md §8 SIGHUP: under continuous keep-alive load, two reloads a couple of
// seconds apart fail no request, hang none, fetch no token again, keep a
// registration made mid-reload, and keep the supervisor's PID.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startLoad } from './helpers/keepalive-load.js';
import { sleep, waitFor } from './helpers/poll.js';
import { startServer, stopAll } from './helpers/server.js';
import { callsOf, Sim, startSim } from './helpers/sim.js';

let sim: Sim;
test.before(async () => {
  // Long lifetimes: no scheduled refresh may fall inside the test window.
  sim = await startSim({ expiresIn: 7200 });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

const APPS = ['wxreloadA', 'wxreloadB', 'wxreloadC', 'wxreloadD'];

test('two SIGHUPs under 16 keep-alive clients: no failed or hung request, no extra fetch, same PID', async () => {
  const srv = await startServer({ wechatApi: sim.url, workers: 2 });
  for (const appid of APPS) {
    const tasks = appid === 'wxreloadA' ? [{ type: 0 }, { type: 1 }] : [{ type: 0 }];
    const r = await srv.api.register({ appid, appsecret: `secret-${appid}`, tasks });
    assert.is(r.status, 200, r.text);
  }
  const values = new Map<string, string>();
  for (const appid of APPS)
    values.set(`${appid}/0`, await waitFor(`${appid} value`, () => srv.api.value(appid, 0).catch(() => null)));
  values.set('wxreloadA/1', await waitFor('ticket', () => srv.api.value('wxreloadA', 1).catch(() => null)));
  const before = await sim.stats();

  const requests = [...values].map(([key, value]) => ({
    path: `/task/${key}`,
    check: (status: number, body: string) =>
      status === 200 && JSON.parse(body).result === value ? null : `status ${status}: ${body}`,
  }));
  requests.push({
    path: '/healthz',
    check: (status: number, body: string) => (status === 200 ? null : `status ${status}: ${body}`),
  });
  const load = startLoad(srv.url, requests, 16);
  await waitFor('load to flow', () => load.done() > 200, 20_000, 20);
  const t0 = Date.now();

  const reloaded = () => srv.logs().filter((l) => l.msg === 'reload: new generation owns the apps').length;
  srv.signal('SIGHUP');
  // Registrations while the first hand-over runs: every one must be kept and served.
  const midReload: string[] = [];
  for (let i = 0; reloaded() < 1 && i < 200; i++) {
    const appid = `wxmid${i}`;
    const r = await srv.api.register({ appid, appsecret: `secret-${appid}`, tasks: [{ type: 0 }] });
    assert.is(r.status, 200, r.text);
    midReload.push(appid);
    await sleep(50);
  }
  await waitFor('first reload', () => reloaded() >= 1, 60_000);
  await sleep(Math.max(0, 2_500 - (Date.now() - t0)));
  srv.signal('SIGHUP');
  await waitFor('second reload', () => reloaded() >= 2, 60_000);
  // Keep the load on until both retired generations have drained and stopped.
  await waitFor(
    'old generations stopped',
    () => srv.logs().filter((l) => l.msg === 'stopped' && l.generation !== undefined).length >= 2,
    30_000,
  );
  await sleep(Math.max(0, 6_000 - (Date.now() - t0)));
  const report = await load.stop();
  console.log(
    `  load: ${report.ok} answers in ${report.durationMs} ms, ${report.connects} connections, max latency ${report.maxLatencyMs} ms, ${midReload.length} registrations mid-reload`,
  );

  assert.equal(report.failures.slice(0, 10), [], `${report.failures.length} failed requests`);
  assert.ok(report.ok > 300, `only ${report.ok} answers`);
  assert.ok(report.connects > 16, 'keep-alive clients were moved to the new generation');

  // Not one WeChat fetch for the apps registered before the reloads.
  const after = await sim.stats();
  for (const appid of APPS) assert.equal(callsOf(after, appid), callsOf(before, appid), `fetches of ${appid}`);
  // Registrations made mid-reload: served afterwards, each fetched exactly once (one owner).
  assert.ok(midReload.length >= 1, 'at least one registration during the hand-over');
  for (const appid of midReload) {
    await waitFor(`${appid} served`, () => srv.api.value(appid, 0).catch(() => null), 30_000);
    assert.is((await sim.calls(appid)).token, 1, `fetches of ${appid}`);
  }
  const final = await sim.stats();
  for (const appid of midReload) assert.is(callsOf(final, appid).token, 1, `fetches of ${appid}`);

  // Same supervisor PID; each reload handed the apps to a new generation process.
  process.kill(srv.pid, 0);
  const ownerPids = () =>
    srv
      .logs()
      .filter((l) => l.msg === 'owning the apps')
      .map((l) => l.pid);
  // Each generation process writes its own line: the last one may arrive after what was awaited above.
  await waitFor('two owning generations', () => new Set(ownerPids()).size >= 2);
  const owners = ownerPids();
  assert.is(new Set(owners).size, 2, `generation pids ${owners.join(',')}`);
  assert.not.ok(owners.includes(srv.pid));
  assert.ok(
    srv
      .logs()
      .filter((l) => l.msg === 'reload: new generation owns the apps')
      .every((l) => l.pid === srv.pid),
  );
  assert.is(await srv.stop(), 0);
});

test.run();
