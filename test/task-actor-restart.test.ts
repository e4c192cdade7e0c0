// A task actor whose handler throws restarts from what the store holds (the
// last state acknowledged), after a back-off, with a log line — not from its
// memory, which the failure may have left half-changed. A shard in this
// process, over the real store and the simulator.
import { MessageChannel } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateRegistration } from '../lib/contract/registration.js';
import { TaskType } from '../lib/contract/task-type.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import { TaskMessage } from '../workers/task-actor.js';
import { Shard } from '../workers/shard.js';
import { waitFor } from './helpers/poll.js';
import { stopAll, tempDir } from './helpers/server.js';
import { shardSettings } from './helpers/shard-settings.js';
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
  const dataDir = tempDir();
  const key = { appid: 'wxrestart', type: TaskType.AccessToken, sub: '' };
  await sim.addApp({ appid: key.appid, secret: 'srestart' });
  const front = new SqliteStore(dataDir);
  const { port1, port2 } = new MessageChannel();
  port1.unref();
  const shard = await Shard.open(shardSettings(dataDir, sim.url), port2);
  try {
    await shard.activate();
    await shard.register(
      [validateRegistration({ appid: key.appid, appsecret: 'srestart', tasks: [{ type: 0 }] })],
      Date.now(),
    );
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
    await shard.close();
    front.close();
  }
});

test.run();
