// A WeChat call waits for a free connection, and may wait longer than the
// lease it was allowed under: the client asks the lease table again right
// before it sends, and never lets a call run past the lease's end. Real
// WechatClient, real LeaseTable, the project's simulator as WeChat.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LeaseTable } from '../lib/cluster/lease-table.js';
import { monoNow } from '../lib/timing.js';
import { slotOf } from '../lib/util/shard-of.js';
import { LEASE_UNCONFIRMED, WechatClient, WechatResult } from '../lib/wechat/wechat-client.js';
import { startSim, type Sim } from './helpers/sim.js';

const first = 'wx00000000000000a1';
const second = 'wx00000000000000b2';

/** One connection to the simulator, and a lease of `leaseMs` from now on the slot of each of `appids`. */
function leasedClient(sim: Sim, leaseMs: number, timeoutMs: number, appids: string[]) {
  const leases = new LeaseTable(undefined, leaseMs);
  for (const appid of appids) leases.set(slotOf(appid), 1, monoNow() + leaseMs);
  const wechat = new WechatClient({
    baseUrl: sim.url,
    timeoutMs,
    concurrency: 1,
    callBudgetMs: (owner) => leases.callBudgetMs(owner),
  });
  return { leases, wechat };
}

test('a call queued behind a busy connection is not sent once its lease is gone', async () => {
  assert.is.not(slotOf(first), slotOf(second), 'the two apps need slots of their own');
  const sim = await startSim();
  const { leases, wechat } = leasedClient(sim, 60_000, 30_000, [first, second]);
  try {
    // The first call holds the only connection; its answer cannot come before the lease below is gone.
    await sim.fault({ endpoint: 'token', appid: first, delayMs: 200 });
    const held = wechat.accessToken(first, 'secret-1');
    const queued = wechat.accessToken(second, 'secret-2');
    // Allowed when it was started (what fetchStep checks), lost while it waited.
    leases.clear(slotOf(second));
    const answers: WechatResult[] = await Promise.all([held, queued]);
    assert.is(answers[0]?.ok, true);
    assert.is(answers[1], LEASE_UNCONFIRMED);
    assert.is((await sim.calls(second)).token, 0, 'WeChat was called for an app whose lease had run out');
    assert.is((await sim.calls(first)).token, 1);
  } finally {
    await wechat.close();
    await sim.close();
  }
});

test("a call never runs past its lease's end, whatever the WeChat timeout", async () => {
  const sim = await startSim();
  const { leases, wechat } = leasedClient(sim, 10_000, 120_000, []);
  try {
    await sim.fault({ endpoint: 'token', appid: first, hang: true });
    // Taken just before the call, so a slow box cannot use up the lease before it starts:
    // valid for 10 s with a margin of 2 s, so the call may start and may take ~10 s.
    leases.set(slotOf(first), 1, monoNow() + 10_000);
    const started = monoNow();
    const answer = await wechat.accessToken(first, 'secret-1');
    const took = monoNow() - started;
    assert.is(answer.ok, false);
    if (!answer.ok) assert.match(answer.message, /timed out/);
    // Far below the 120 s WeChat timeout: the lease's end cut it.
    assert.ok(took < 60_000, `the call took ${took} ms`);
  } finally {
    await wechat.close();
    await sim.close();
  }
});

test('without a lease table every call may start, as with one instance', async () => {
  const sim = await startSim();
  const wechat = new WechatClient({ baseUrl: sim.url, timeoutMs: 30_000, concurrency: 1 });
  try {
    const answer = await wechat.accessToken(first, 'secret-1');
    assert.is(answer.ok, true);
  } finally {
    await wechat.close();
    await sim.close();
  }
});

test.run();
