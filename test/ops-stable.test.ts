// stable_token end to end against the simulator: "stable": true on a type 0
// task and the global --stable-token flag use POST /cgi-bin/stable_token;
// the schedule never forces; a passive refresh forces only when WeChat
// still hands out the value that failed, within the budget (20 a day, 30 s
// apart — made small here through the config file and the simulator's
// knobs), and otherwise answers with the current value and says why.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { at } from './helpers/must.js';
import { Reply } from './helpers/http.js';
import { sleep, waitFor } from './helpers/poll.js';
import { parseProm, sum } from './helpers/prom.js';
import { RunningServer, startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

/** Long enough that step 2 below lands inside it even on a loaded CI machine. */
const FORCE_INTERVAL_S = 8;
let sim: Sim;
let srv: RunningServer;

test.before(async () => {
  sim = await startSim();
  await sim.config({ stableForceDailyLimit: 20, stableForceIntervalSeconds: 0 });
  const config = join(tempDir(), 'config.json');
  writeFileSync(config, JSON.stringify({ stableForceDailyLimit: 2, stableForceIntervalSeconds: FORCE_INTERVAL_S }));
  srv = await startServer({ wechatApi: sim.url, args: ['--config', config] });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

const value = (s: RunningServer, appid: string, type = 0) =>
  waitFor(`a value for ${appid}/${type}`, async () => {
    const r = await s.api.get(`/task/${appid}/${type}`);
    return r.status === 200 ? (r.body.result as string) : undefined;
  });
const refresh = (appid: string, stale: string, type = 0) => srv.api.post(`/task/${appid}/${type}/refresh`, { stale });
const note = (r: Reply) => r.headers.get('x-scheduler-refresh-note') ?? '';
const forceMetric = async (result: string) =>
  sum(parseProm((await srv.api.get('/metrics')).text), 'wechat_scheduler_stable_force_total', { result });
/** Forced calls WeChat accepted (the simulator's byApp counts do not tell forced from normal). */
const forceSim = async (appid: string) =>
  (await fetch(`${sim.url}/cgi-bin/stable_token`, {
    method: 'POST',
    body: JSON.stringify({ grant_type: 'client_credential', appid, secret: `s-${appid}`, force_refresh: true }),
  }).then((r) => r.json())) as Record<string, unknown>;

test('"stable": true is validated at registration', async () => {
  const bad = await srv.api.register({ appid: 'wxstbad', appsecret: 's', tasks: [{ type: 0, stable: 'yes' }] });
  assert.is(bad.status, 400);
  assert.match(bad.body.message as string, /stable must be true or false/);
  const wrongType = await srv.api.register({
    appid: 'wxstbad',
    appsecret: 's',
    tasks: [{ type: 0 }, { type: 1, stable: true }],
  });
  assert.is(wrongType.status, 400);
  assert.match(wrongType.body.message as string, /tasks\[1\]\.stable is only allowed on type 0/);
});

test('"stable": true fetches with POST /cgi-bin/stable_token and the schedule never forces', async () => {
  await sim.addApp({ appid: 'wxstsched', expiresIn: 5 });
  await srv.api.register({ appid: 'wxstsched', appsecret: 's-wxstsched', tasks: [{ type: 0, stable: true }] });
  const seen = new Set<string>();
  const deadline = Date.now() + 30_000;
  // Poll like a business system: every value served is valid at WeChat, and the schedule moves on.
  while (seen.size < 3 && Date.now() < deadline) {
    const askedAt = Date.now();
    const v = await value(srv, 'wxstsched');
    assert.match(v, /^SAT_/);
    assert.ok(await sim.validWhenAsked(v, askedAt), 'a served stable token is always valid');
    seen.add(v);
    await sleep(250);
  }
  assert.ok(seen.size >= 3, `three stable tokens in turn (saw ${seen.size})`);
  const c = await sim.calls('wxstsched');
  assert.is(c.token, 0, 'never /cgi-bin/token');
  assert.ok(c.stable >= 3);
  for (const result of ['forced', 'skipped', 'refused'])
    assert.is(await forceMetric(result), 0, `no force wanted on schedule (${result})`);
});

test('passive refresh: force only when WeChat still returns the failed value, at most 2 a day and 8 s apart here', async () => {
  await srv.api.register({ appid: 'wxstforce', appsecret: 's-wxstforce', tasks: [{ type: 0, stable: true }] });
  const s1 = await value(srv, 'wxstforce');
  let before = await sim.calls('wxstforce');

  // 1. WeChat still returns s1 to a normal call: force. The old token stops working at once.
  const r1 = await refresh('wxstforce', s1);
  assert.is(r1.status, 200, r1.text);
  const s2 = r1.body.result as string;
  const middle = await sim.calls('wxstforce');
  // 2. At once again with s2: within 8 s of the last force, so no force; the normal answer (s2) and a note.
  const r2 = await refresh('wxstforce', s2);

  assert.is.not(s2, s1);
  assert.is(r1.headers.get('x-scheduler-refresh'), 'fetched');
  assert.is(note(r1), '');
  assert.not.ok(await sim.valid(s1), 'forced: the failed token is invalid at WeChat');
  assert.ok(await sim.valid(s2));
  assert.is(middle.stable - before.stable, 2, 'a normal call, then the forced one');
  assert.is(await forceMetric('forced'), 1);

  assert.is(r2.status, 200, r2.text);
  assert.is(r2.body.result, s2);
  assert.match(
    note(r2),
    new RegExp(
      `force_refresh allowed again in \\d+ s \\(${FORCE_INTERVAL_S} s apart\\); WeChat still returns the same token`,
    ),
  );
  assert.is((await sim.calls('wxstforce')).stable - middle.stable, 1, 'only the normal call');
  assert.is(await forceMetric('skipped'), 1);

  // 3. After the interval: the second (and last, today) force.
  await sleep(FORCE_INTERVAL_S * 1000 + 200);
  const r3 = await refresh('wxstforce', s2);
  const s3 = r3.body.result as string;
  assert.is.not(s3, s2);
  assert.is(note(r3), '');
  assert.not.ok(await sim.valid(s2));
  assert.is(await forceMetric('forced'), 2);

  // 4. The daily budget is used up: the current value, and the answer says so.
  await sleep(FORCE_INTERVAL_S * 1000 + 200);
  before = await sim.calls('wxstforce');
  const r4 = await refresh('wxstforce', s3);
  assert.is(r4.status, 200, r4.text);
  assert.is(r4.body.result, s3);
  assert.match(note(r4), /budget used up for today \(2 a day\)/);
  assert.is((await sim.calls('wxstforce')).stable - before.stable, 1);
  assert.is(await forceMetric('forced'), 2, 'never a third force');
  assert.ok(await sim.valid(s3), 'the value served is still valid');
});

test('someone else forced a new stable token: the normal call picks it up and no force is spent', async () => {
  await srv.api.register({ appid: 'wxstother', appsecret: 's-wxstother', tasks: [{ type: 0, stable: true }] });
  const ours = await value(srv, 'wxstother');
  const theirs = (await forceSim('wxstother')).access_token as string;
  assert.not.ok(await sim.valid(ours), 'their force invalidated our token');
  const forcedBefore = await forceMetric('forced');
  const before = await sim.calls('wxstother');
  const r = await refresh('wxstother', ours);
  assert.is(r.status, 200, r.text);
  assert.is(r.body.result, theirs, 'the token WeChat now hands out');
  assert.is(note(r), '');
  assert.is((await sim.calls('wxstother')).stable - before.stable, 1, 'one normal call');
  assert.is(await forceMetric('forced'), forcedBefore);
});

test('WeChat refuses the force (45009, 45011): the normal answer stands, the task stays ready, the refusal is remembered', async () => {
  // The simulator allows less than our budget, as after a restart that lost our count.
  await sim.config({ stableForceDailyLimit: 1, stableForceIntervalSeconds: 0 });
  await srv.api.register({ appid: 'wxstrefuse', appsecret: 's-wxstrefuse', tasks: [{ type: 0, stable: true }] });
  const s1 = await value(srv, 'wxstrefuse');
  const s2 = (await refresh('wxstrefuse', s1)).body.result as string;
  assert.is.not(s2, s1, 'the first force is allowed by both');
  await sleep(FORCE_INTERVAL_S * 1000 + 200);
  const refusedBefore = await forceMetric('refused');
  let before = await sim.calls('wxstrefuse');
  const r = await refresh('wxstrefuse', s2);
  assert.is(r.status, 200, r.text);
  assert.is(r.body.result, s2);
  assert.match(
    note(r),
    /WeChat refused stable_token force_refresh \(WeChat errcode 45009: reach max api daily quota limit rid: [0-9a-f-]+\)/,
  );
  assert.is((await sim.calls('wxstrefuse')).stable - before.stable, 2, 'normal, then the refused force');
  assert.is(await forceMetric('refused'), refusedBefore + 1);
  const status = await srv.api.get('/apps/wxstrefuse');
  assert.is(
    at((status.body.result as { tasks: Array<{ state: string }> }).tasks, 0, 'task').state,
    'ready',
    'a refused force is not a failing task',
  );
  // Remembered for the rest of the (Beijing) day: no forced call is even tried.
  await sleep(FORCE_INTERVAL_S * 1000 + 200);
  before = await sim.calls('wxstrefuse');
  const again = await refresh('wxstrefuse', s2);
  assert.is(again.body.result, s2);
  assert.match(note(again), /budget used up for today/);
  assert.is((await sim.calls('wxstrefuse')).stable - before.stable, 1);

  // 45011: WeChat wants the forces further apart than we do.
  await sim.config({ stableForceDailyLimit: 20, stableForceIntervalSeconds: 60 });
  await srv.api.register({ appid: 'wxstspace', appsecret: 's-wxstspace', tasks: [{ type: 0, stable: true }] });
  const t1 = await value(srv, 'wxstspace');
  const t2 = (await refresh('wxstspace', t1)).body.result as string;
  assert.is.not(t2, t1);
  await sleep(FORCE_INTERVAL_S * 1000 + 200);
  const spaced = await refresh('wxstspace', t2);
  assert.is(spaced.body.result, t2);
  assert.match(note(spaced), /errcode 45011/);
  await sim.config({ stableForceDailyLimit: 20, stableForceIntervalSeconds: 0 });
});

test('a jsapi_ticket refresh whose getticket says 40001 refreshes the stable access_token first, then retries', async () => {
  await srv.api.register({ appid: 'wxstdep', appsecret: 's-wxstdep', tasks: [{ type: 0, stable: true }, { type: 1 }] });
  const token = await value(srv, 'wxstdep');
  const ticket = await value(srv, 'wxstdep', 1);
  // Another party forces a new stable token: ours is invalid, so getticket answers 40001.
  const forcedBefore = await forceMetric('forced');
  const theirs = (await forceSim('wxstdep')).access_token as string;
  assert.not.ok(await sim.valid(token));
  const r = await refresh('wxstdep', ticket, 1);
  assert.is(r.status, 200, r.text);
  assert.is.not(r.body.result, ticket);
  assert.ok(await sim.valid(r.body.result as string));
  assert.is(await value(srv, 'wxstdep'), theirs, 'the access_token was refreshed to the current stable token');
  assert.is(await forceMetric('forced'), forcedBefore, 'a normal call was enough');
});

test('the global flag --stable-token makes every type 0 task use stable_token', async () => {
  const other = await startServer({ wechatApi: sim.url, args: ['--stable-token'] });
  await other.api.register({ appid: 'wxstglobal', appsecret: 's-wxstglobal', tasks: [{ type: 0 }] });
  const v = await value(other, 'wxstglobal');
  assert.match(v, /^SAT_/);
  const c = await sim.calls('wxstglobal');
  assert.is(c.stable, 1);
  assert.is(c.token, 0);
  await other.stop();
});

test.run();
