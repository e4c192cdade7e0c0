// Issue 15: a config file that no longer parses when a crashed generation is
// restarted must not take the service down: the new generation runs with the
// last config that worked and says why, as a refused SIGHUP reload does.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from './helpers/poll.js';
import { startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

let sim: Sim;
test.before(async () => {
  sim = await startSim({ expiresIn: 7200 });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

test('kill -9 of the generation while the config file is broken: replaced with the last config that worked, and logged', async () => {
  const token = 'broken-config-token-41c2';
  const file = join(tempDir(), 'config.json');
  writeFileSync(file, JSON.stringify({ tokens: [token], refreshMinIntervalMs: 1000 }));
  const srv = await startServer({ wechatApi: sim.url, args: ['--config', file], token, workers: 1 });
  assert.is(
    (await srv.api.register({ appid: 'wxbroken1', appsecret: 'broken-secret', tasks: [{ type: 0 }] })).status,
    200,
  );
  const value = await srv.api.awaitValue('wxbroken1', 0);

  // Broken where V8 would quote the text around the error: a token must not reach the log through it.
  const leaked = 'tok-in-a-broken-file-9f';
  writeFileSync(file, `{"tokens": [${leaked}]}`);
  const gen = await waitFor('the generation started line', () =>
    srv.logs().find((l) => l.msg === 'generation started'),
  );
  assert.ok(gen.pid !== srv.pid);
  process.kill(gen.pid as number, 'SIGKILL');
  await waitFor('the replacement', () => srv.logs().some((l) => l.msg === 'front generation replaced'), 60_000);
  // Served as before, with the same token (the last config that worked).
  assert.is(await srv.api.value('wxbroken1', 0), value);
  assert.is(
    (await srv.api.register({ appid: 'wxbroken2', appsecret: 'broken-secret-2', tasks: [{ type: 0 }] })).status,
    200,
  );
  await srv.api.awaitValue('wxbroken2', 0);
  // Written by the new generation, which is not the process whose answers were awaited above: wait for it.
  const why = await waitFor('the reason to be logged', () =>
    srv
      .logs()
      .find(
        (l) => l.msg === 'config file not usable; running with the last config that worked (fix it, then send SIGHUP)',
      ),
  );
  assert.match(String(why.err), /not valid JSON/);
  assert.not.ok(srv.output().includes(leaked), 'no text of the broken file in the log');

  // A SIGHUP with the file still broken is refused; fixed, it reloads.
  srv.signal('SIGHUP');
  await waitFor(
    'the refused reload',
    () => srv.logs().some((l) => l.msg === 'reload failed; the running generation keeps serving'),
    30_000,
  );
  assert.is(await srv.api.value('wxbroken1', 0), value);
  writeFileSync(file, JSON.stringify({ tokens: [token] }));
  srv.signal('SIGHUP');
  await waitFor('the reload', () => srv.logs().some((l) => l.msg === 'reload: new generation owns the apps'), 60_000);
  assert.is(await srv.api.value('wxbroken1', 0), value);
  assert.is(await srv.stop(), 0);
});

test.run();
