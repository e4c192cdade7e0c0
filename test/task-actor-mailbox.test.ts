// A task actor handles one message at a time, and the messages that arrive
// together are handled together: a forced refresh, a registration that
// changes the appsecret and the refresh timer, told in one turn, make one
// WeChat call with the new secret. A shard in this process, over the real
// store and the simulator.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateRegistration } from '../lib/contract/registration.js';
import { TaskType } from '../lib/contract/task-type.js';
import { waitFor } from './helpers/poll.js';
import { stopAll } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';
import { shardWithApp } from './helpers/shard-settings.js';

let sim: Sim;
test.before(async () => {
  sim = await startSim();
});
test.after(async () => {
  await sim.close();
  await stopAll();
});

test('a registration change, a forced refresh and the timer arriving together: one WeChat call, with the new secret', async () => {
  const key = { appid: 'wxtogether', type: TaskType.AccessToken, sub: '' };
  await sim.addApp({ appid: key.appid, secret: 'sold' });
  const { front, shard, close } = await shardWithApp(sim.url, key.appid, 'sold');
  try {
    const first = await waitFor('the first value stored', async () => (await front.getApp(key.appid))?.tasks[0]?.value);
    const calls = (await sim.calls(key.appid)).token;

    await sim.addApp({ appid: key.appid, secret: 'snew' });
    // Written already (as the owner does before it applies a registration), and read back.
    await front.register(
      validateRegistration({ appid: key.appid, appsecret: 'snew', tasks: [{ type: 0 }] }),
      Date.now(),
    );
    const changed = (await front.getApp(key.appid))!;
    const actor = shard.task(key)!;
    // One turn: the refresh first (the order that used to fetch with the old secret), then the rest.
    const refreshed = shard.refresh(key, undefined);
    void shard.reconcile(key.appid, changed);
    void actor.fire();
    const reply = await refreshed;
    assert.is(reply.kind, 'refreshed');
    if (reply.kind !== 'refreshed') return;
    assert.is(reply.outcome.result, 'fetched', JSON.stringify(reply.outcome));
    await actor.idle();

    const stored = (await front.getApp(key.appid))!;
    const task = stored.tasks[0]!;
    assert.is((await sim.calls(key.appid)).token - calls, 1, 'exactly one WeChat call');
    assert.is.not(task.value, first);
    assert.is(task.state, 'ready');
    assert.is(task.fetchedSecretGen, stored.app.secretGen, 'fetched with the new secret');
    assert.ok(await sim.valid(task.value!));
    assert.is(reply.update.value, task.value, 'the answer is what the store holds');
    assert.is(actor.snapshot().value, task.value);
  } finally {
    await close();
  }
});

test.run();
