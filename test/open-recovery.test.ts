// Recovery of a component (docs/api.md §11): the rate limits by an injectable
// clock, and api_start_push_ticket end to end through the binary with the
// 10 minutes shortened for the test (WECHAT_SCHEDULER_TEST_START_PUSH_MS).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ComponentRecovery, LIST_LOOKUP_INTERVAL_MS, START_PUSH_AFTER_MS } from '../workers/component-recovery.js';
import { client } from './helpers/http.js';
import { waitFor } from './helpers/poll.js';
import { startServer, stopAll } from './helpers/server.js';
import { startSim } from './helpers/sim.js';

test('api_get_authorizer_list lookups: at most one a minute per component', () => {
  let now = 1_000_000;
  const r = new ComponentRecovery(() => now);
  assert.ok(r.takeListLookup('wxA'));
  assert.not.ok(r.takeListLookup('wxA'), 'a second within the minute');
  assert.ok(r.takeListLookup('wxB'), 'another component has its own minute');
  now += LIST_LOOKUP_INTERVAL_MS - 1;
  assert.not.ok(r.takeListLookup('wxA'));
  now += 1;
  assert.ok(r.takeListLookup('wxA'), 'a minute later');
});

test('api_start_push_ticket: after 10 minutes without a usable ticket, then at most once per 10 minutes', () => {
  let now = 5_000_000;
  const r = new ComponentRecovery(() => now);
  assert.not.ok(r.takeStartPush('wxC'), 'the first miss starts the 10 minutes');
  now += START_PUSH_AFTER_MS - 1;
  assert.not.ok(r.takeStartPush('wxC'));
  now += 1;
  assert.ok(r.takeStartPush('wxC'), '10 minutes without a ticket');
  now += 60_000;
  assert.not.ok(r.takeStartPush('wxC'), 'not again within 10 minutes');
  now += START_PUSH_AFTER_MS;
  assert.ok(r.takeStartPush('wxC'), 'again after 10 more minutes without a ticket');
  r.ticketUsable('wxC');
  now += START_PUSH_AFTER_MS;
  assert.not.ok(r.takeStartPush('wxC'), 'a usable ticket starts the count again');
  now += START_PUSH_AFTER_MS;
  assert.ok(r.takeStartPush('wxC'));
});

test('a component without a ticket asks WeChat to push one, which the events route takes and the fetch uses', async () => {
  const sim = await startSim();
  try {
    const srv = await startServer({
      wechatApi: sim.url,
      env: { WECHAT_SCHEDULER_TEST_FAULTS: '1', WECHAT_SCHEDULER_TEST_START_PUSH_MS: '1500' },
    });
    const key = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
    const reg = await srv.api.register({
      appid: 'wxcompstart',
      appsecret: 'cs',
      tasks: [{ type: 3, push: { token: 'tok', encoding_aes_key: key } }],
    });
    assert.is(reg.status, 200, reg.text);
    await client(sim.url).post('/__sim/components', {
      component_appid: 'wxcompstart',
      url: `${srv.url}/component/wxcompstart/events`,
      token: 'tok',
      encoding_aes_key: key,
    });
    // Nobody pushes a ticket: the server asks with api_start_push_ticket, the simulator pushes, the fetch goes.
    const cat = await srv.api.awaitValue('wxcompstart', 3);
    assert.ok(await sim.valid(cat));
    const s = await sim.calls('wxcompstart');
    assert.is(s.start_push_ticket, 1, 'asked once');
    assert.is(s.component, 1);
    const logs = await waitFor('the log line', () =>
      srv.logs().find((l) => String(l.msg).includes('api_start_push_ticket')),
    );
    assert.is(logs.appid, 'wxcompstart');
  } finally {
    await stopAll();
    await sim.close();
  }
});

test.run();
