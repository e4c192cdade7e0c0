// docs/api.md §5 GET /metrics: Prometheus text format (read by a strict parser),
// fetches and failures by type and errcode, notify deliveries, bounded
// expiry figures, HTTP requests by route and status, process metrics.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { at, must } from './helpers/must.js';
import { Business, startBusiness } from './helpers/business.js';
import { waitFor } from './helpers/poll.js';
import { Family, parseProm, sum } from './helpers/prom.js';
import { RunningServer, startServer, stopAll } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

let sim: Sim;
let biz: Business;
let srv: RunningServer;

test.before(async () => {
  sim = await startSim();
  biz = await startBusiness();
  srv = await startServer({ wechatApi: sim.url });
});
test.after(async () => {
  await stopAll();
  await biz.close();
  await sim.close();
});

const value = (appid: string, type: number, q = '') => srv.api.awaitValue(appid, type, q);
async function metrics(): Promise<Map<string, Family>> {
  const r = await srv.api.get('/metrics');
  assert.is(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseProm(r.text);
}

test('/metrics is Prometheus text with the documented families and types', async () => {
  const m = await metrics();
  const want: Record<string, string> = {
    wechat_scheduler_fetches_total: 'counter',
    wechat_scheduler_fetch_failures_total: 'counter',
    wechat_scheduler_notify_total: 'counter',
    wechat_scheduler_stable_force_total: 'counter',
    wechat_scheduler_http_requests_total: 'counter',
    wechat_scheduler_shard_restarts_total: 'counter',
    wechat_scheduler_tasks: 'gauge',
    wechat_scheduler_tasks_without_value: 'gauge',
    wechat_scheduler_task_min_expiry_seconds: 'gauge',
    wechat_scheduler_tasks_expiring_within_seconds: 'gauge',
    wechat_scheduler_heap_bytes: 'gauge',
    process_cpu_user_seconds_total: 'counter',
    process_resident_memory_bytes: 'gauge',
    nodejs_heap_size_used_bytes: 'gauge',
    nodejs_eventloop_lag_seconds: 'gauge',
  };
  for (const [name, type] of Object.entries(want)) {
    assert.ok(m.has(name), `${name} is exposed`);
    assert.is(m.get(name)!.type, type, name);
    assert.ok(m.get(name)!.help.length > 10, `${name} has help`);
  }
  assert.is(sum(m, 'wechat_scheduler_fetches_total', { type: '0', result: 'ok' }), 0, 'known series start at zero');
});

test('heap bytes are reported for the front thread and every shard thread', async () => {
  const m = await metrics();
  const samples = m.get('wechat_scheduler_heap_bytes')!.samples;
  const threads = [...new Set(samples.map((s) => must(s.labels.thread, 'a thread label')))].sort();
  assert.equal(threads, ['front', 'shard-0', 'shard-1'], 'the test server runs two shards');
  for (const thread of threads) {
    const used = sum(m, 'wechat_scheduler_heap_bytes', { thread, kind: 'used' });
    const total = sum(m, 'wechat_scheduler_heap_bytes', { thread, kind: 'total' });
    assert.ok(used > 1e6 && used <= total, `${thread}: used ${used} of ${total}`);
  }
});

test('the fetch counter moves by exactly one after one refresh', async () => {
  await srv.api.register({ appid: 'wxmet0', appsecret: 's-met0', tasks: [{ type: 0, notify: `${biz.url}/notify` }] });
  const v = await value('wxmet0', 0);
  const before = await metrics();
  const fetches = sum(before, 'wechat_scheduler_fetches_total', { type: '0', name: 'access_token', result: 'ok' });
  const refreshes = sum(before, 'wechat_scheduler_http_requests_total', {
    route: '/task/:appid/:type/refresh',
    status: '200',
  });
  const r = await srv.api.post('/task/wxmet0/0/refresh', { stale: v });
  assert.is(r.status, 200, r.text);
  const after = await metrics();
  assert.is(
    sum(after, 'wechat_scheduler_fetches_total', { type: '0', name: 'access_token', result: 'ok' }),
    fetches + 1,
  );
  assert.is(
    sum(after, 'wechat_scheduler_fetches_total', { type: '0', result: 'error' }),
    sum(before, 'wechat_scheduler_fetches_total', { type: '0', result: 'error' }),
  );
  assert.is(
    sum(after, 'wechat_scheduler_http_requests_total', { route: '/task/:appid/:type/refresh', status: '200' }),
    refreshes + 1,
  );
  // Both fetches were notified.
  await waitFor(
    'two notify deliveries',
    async () => sum(await metrics(), 'wechat_scheduler_notify_total', { result: 'delivered' }) === 2,
  );
});

test('failures are counted by task type and WeChat errcode, and notify failures too', async () => {
  await sim.addApp({ appid: 'wxmetbad', secret: 'right' });
  biz.notifyStatus = 500;
  await srv.api.register({ appid: 'wxmetbad', appsecret: 'wrong', tasks: [{ type: 0 }] });
  await srv.api.register({ appid: 'wxmetnot', appsecret: 's', tasks: [{ type: 0, notify: `${biz.url}/fails` }] });
  const m = await waitFor('a 40125 failure and a failed notify', async () => {
    const x = await metrics();
    return sum(x, 'wechat_scheduler_fetch_failures_total', { type: '0', errcode: '40125' }) >= 1 &&
      sum(x, 'wechat_scheduler_notify_total', { result: 'failed' }) >= 1
      ? x
      : undefined;
  });
  biz.notifyStatus = 200;
  assert.ok(sum(m, 'wechat_scheduler_fetches_total', { type: '0', result: 'error' }) >= 1);
  await sim.fault({ endpoint: 'token', appid: 'wxmetnot', status: 502 });
  const v = await value('wxmetnot', 0);
  await srv.api.post('/task/wxmetnot/0/refresh', { stale: v });
  assert.ok(
    sum(await metrics(), 'wechat_scheduler_fetch_failures_total', { type: '0', errcode: 'none' }) >= 1,
    'an HTTP error has no errcode',
  );
});

test('task gauges and the expiry distribution cover every task, with series per type and bound, never per task', async () => {
  await srv.api.register({ appid: 'wxmet1', appsecret: 's-met1', tasks: [{ type: 0 }, { type: 1 }] });
  await value('wxmet1', 1);
  // /metrics and /apps are read one after the other: a task may change state in between,
  // so read both until they describe the same moment (the gauges must then match the list).
  const states = ['ready', 'failing', 'pending'];
  const { m, tasks } = await waitFor('/metrics and /apps to agree', async () => {
    const m = await metrics();
    const apps = (await srv.api.get('/apps?limit=1000')).body.result as {
      apps: Array<{ tasks: Array<{ type: number; state: string }> }>;
    };
    const tasks = apps.apps.flatMap((a) => a.tasks);
    const agree =
      sum(m, 'wechat_scheduler_tasks') === tasks.length &&
      states.every(
        (state) => sum(m, 'wechat_scheduler_tasks', { state }) === tasks.filter((t) => t.state === state).length,
      );
    return agree ? { m, tasks } : undefined;
  });
  assert.ok(tasks.length >= 2, 'the tasks of wxmet1 at least');
  const expiring = 'wechat_scheduler_tasks_expiring_within_seconds';
  const withValue0 =
    tasks.filter((t) => t.type === 0).length - sum(m, 'wechat_scheduler_tasks_without_value', { type: '0' });
  assert.is(sum(m, expiring, { type: '0', le: '+Inf' }), withValue0, 'every served type 0 value is counted once');
  assert.ok(
    sum(m, 'wechat_scheduler_tasks_without_value', { type: '0' }) >= 1,
    'the app with the wrong secret has none',
  );
  const bounds = m.get(expiring)!.samples.filter((s) => s.labels.type === '0');
  assert.equal(
    bounds.map((s) => s.labels.le),
    ['30', '60', '120', '300', '600', '1200', '1800', '3600', '5400', '7200', '+Inf'],
  );
  bounds.slice(1).forEach((b, i) => assert.ok(b.value >= at(bounds, i).value, 'cumulative'));
  // Fresh 7200 s tokens: none expires within 5400 s, all within 7200 s.
  assert.is(sum(m, expiring, { type: '0', le: '5400' }), 0);
  assert.is(sum(m, expiring, { type: '0', le: '7200' }), withValue0);
  const min = sum(m, 'wechat_scheduler_task_min_expiry_seconds', { type: '1' });
  assert.ok(min > 7000 && min <= 7200, `min expiry of type 1: ${min}`);
  // Per type and bound, never per task: 6 types x 11 bounds whatever the number of apps.
  assert.is(m.get(expiring)!.samples.length, 66);
  assert.ok(m.get(expiring)!.samples.every((s) => !('appid' in s.labels)));
});

test('HTTP requests are counted by route pattern and status, the fast path included', async () => {
  const count = async (route: string, status: string) =>
    sum(await metrics(), 'wechat_scheduler_http_requests_total', { route, status });
  const ok0 = await count('/task/:appid/:type', '200');
  const nf0 = await count('/task/:appid/:type', '404');
  const un0 = await count('unmatched', '404');
  await value('wxmet0', 0);
  await srv.api.get('/task/wxmetnosuch/0');
  await srv.api.get('/no/such/route');
  await srv.api.get('/task/wxmet0');
  assert.is(await count('/task/:appid/:type', '200'), ok0 + 1);
  assert.is(await count('/task/:appid/:type', '404'), nf0 + 1);
  assert.is(await count('unmatched', '404'), un0 + 2, 'unknown paths share one label');
});

test.run();
