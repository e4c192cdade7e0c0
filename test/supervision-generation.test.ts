// A front generation process that dies (kill -9) is replaced by the
// supervisor, which stays up under the same PID; the new generation restores
// every app from the store without fetching unexpired values again.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sleep, waitFor } from './helpers/poll.js';
import { startServer, stopAll } from './helpers/server.js';
import { callsOf, Sim, startSim } from './helpers/sim.js';

let sim: Sim;
test.before(async () => {
  sim = await startSim({ expiresIn: 7200 });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

test('kill -9 of the generation process: the supervisor starts a new one, values restored, nothing refetched', async () => {
  const srv = await startServer({ wechatApi: sim.url, workers: 2 });
  const apps = ['wxgen1', 'wxgen2', 'wxgen3'];
  for (const appid of apps)
    assert.is(
      (await srv.api.register({ appid, appsecret: `s-${appid}`, tasks: [{ type: 0 }, { type: 1 }] })).status,
      200,
    );
  const values = new Map<string, string>();
  for (const appid of apps)
    for (const type of [0, 1])
      values.set(
        `${appid}/${type}`,
        await waitFor(`${appid}/${type}`, () => srv.api.value(appid, type).catch(() => null)),
      );
  const before = await sim.stats();
  const started = () => srv.logs().filter((l) => l.msg === 'generation started');
  const first = started()[0];
  assert.ok(first && first.pid !== srv.pid, 'the generation is a child process');

  process.kill(first.pid as number, 'SIGKILL');
  const t0 = Date.now();
  await waitFor('the replacement', () => srv.logs().some((l) => l.msg === 'front generation replaced'), 60_000);
  // Each process writes its log lines asynchronously: the new generation's own line may come after the supervisor's.
  await waitFor("the new generation's start line", () => started().some((l) => l.pid !== first.pid));
  assert.ok(srv.logs().some((l) => l.msg === 'front generation died; starting a new one' && l.signal === 'SIGKILL'));
  for (const appid of apps)
    for (const type of [0, 1]) {
      const key = `${appid}/${type}`;
      assert.is(await waitFor(key, () => srv.api.value(appid, type).catch(() => null)), values.get(key), key);
    }
  console.log(`  replaced in ${Date.now() - t0} ms`);
  // The new owner really owns the apps: a new registration is fetched once.
  assert.is((await srv.api.register({ appid: 'wxgen4', appsecret: 's-wxgen4', tasks: [{ type: 0 }] })).status, 200);
  await waitFor('wxgen4', () => srv.api.value('wxgen4', 0).catch(() => null));
  await sleep(1_000);
  const after = await sim.stats();
  for (const appid of apps) assert.equal(callsOf(after, appid), callsOf(before, appid), `WeChat calls for ${appid}`);
  assert.is(callsOf(after, 'wxgen4').token, 1);
  // Same supervisor, and it still reloads and stops as before.
  process.kill(srv.pid, 0);
  srv.signal('SIGHUP');
  await waitFor(
    'a reload after the replacement',
    () => srv.logs().some((l) => l.msg === 'reload: new generation owns the apps'),
    60_000,
  );
  assert.is(await srv.api.value('wxgen1', 0), values.get('wxgen1/0'));
  assert.is(await srv.stop(), 0);
});

test('the generation process runs with the memory flags, and node flags the user gave come after them', async () => {
  const srv = await startServer({ wechatApi: sim.url, nodeArgs: ['--max-semi-space-size=8'] });
  // Written by the generation process: it may reach stdout after the supervisor's 'listening'.
  const gen = await waitFor('the generation started line', () =>
    srv.logs().find((l) => l.msg === 'generation started'),
  );
  assert.ok(gen && gen.pid !== srv.pid, 'the generation is a child process');
  const argv = readFileSync(`/proc/${gen.pid as number}/cmdline`, 'utf8').split('\0');
  const at = (flag: string) => argv.indexOf(flag);
  assert.ok(at('--max-semi-space-size=2') > 0, argv.join(' '));
  assert.ok(at('--heap-growing-percent=30') > 0, argv.join(' '));
  assert.ok(at('--v8-pool-size=0') > 0, argv.join(' '));
  assert.ok(at('--no-memory-reducer') > 0, argv.join(' '));
  assert.ok(
    at('--max-semi-space-size=8') > at('--max-semi-space-size=2'),
    `the user's flag wins by coming later: ${argv.join(' ')}`,
  );
  assert.is(await srv.stop(), 0);
});

test.run();
