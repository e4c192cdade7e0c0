// A task actor whose handler throws restarts from what the store holds (the
// last state acknowledged), after a back-off, with a log line — not from its
// memory, which the failure may have left half-changed. A shard in this
// process, over the real store and the simulator.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TaskType } from '../lib/contract/task-type.js';
import { TaskMessage } from '../workers/task-actor.js';
import { waitFor } from './helpers/poll.js';
import { stopAll } from './helpers/server.js';
import { shardWithApp } from './helpers/shard-settings.js';
import { Sim, startSim } from './helpers/sim.js';

let sim: Sim;
test.before(async () => {
  sim = await startSim();
});
test.after(async () => {
  await sim.close();
  await stopAll();
});

test('a handler that throws: the actor starts again from the stored state, fetching nothing it need not', async () => {
  const key = { appid: 'wxrestart', type: TaskType.AccessToken, sub: '' };
  await sim.addApp({ appid: key.appid, secret: 'srestart' });
  const { front, shard, close } = await shardWithApp(sim.url, key.appid, 'srestart');
  try {
    await waitFor('the first value stored', async () => (await front.getApp(key.appid))?.tasks[0]?.value);
    const actor = shard.task(key)!;
    await actor.idle();
    const calls = (await sim.stats()).byApp[key.appid]!.token;
    // What the store holds from now on differs from the actor's memory: only a read shows it.
    const stored = (await front.getApp(key.appid))!.tasks[0]!;
    const expiresAt = Date.now() + 3_600_000;
    await front.saveState(key, { ...stored, value: 'AT-from-the-store', expiresAt, expiresIn: 7200 });
    // A message the handler cannot take (hostile input to the mailbox) makes it throw.
    actor.tell({ kind: 'registration', row: null, refreshToken: null } as unknown as TaskMessage);
    await waitFor('the actor restored from the store', () => actor.snapshot().value === 'AT-from-the-store', 20_000);
    assert.is(actor.snapshot().expiresAt, expiresAt);
    assert.is(actor.snapshot().state, 'ready');
    // An unexpired stored value: nothing fetched on restart.
    assert.is((await sim.stats()).byApp[key.appid]!.token, calls);
  } finally {
    await close();
  }
});

test.run();
