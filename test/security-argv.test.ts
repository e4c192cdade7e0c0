// Issue 15: secrets off the command line. Any user of the host can read a
// process's command line; --token must not stay on the supervisor's, and the
// generation process must never get it in its argv.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from './helpers/poll.js';
import { startServer, stopAll } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

let sim: Sim;
test.before(async () => {
  sim = await startSim();
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

for (const spelling of ['separate', 'joined'] as const) {
  test(`--token (${spelling}) is hidden from the supervisor's command line, absent from the generation's, and warned about`, async () => {
    const token = `argv-secret-${spelling}-5d1c9e`;
    const args = spelling === 'separate' ? ['--token', token] : [`--token=${token}`];
    const srv = await startServer({ wechatApi: sim.url, args, token, workers: 1 });
    assert.is((await srv.api.get('/apps')).status, 200, 'the token works');
    const gens = await waitFor('a generation process', () =>
      children(srv.pid).length > 0 ? children(srv.pid) : undefined,
    );
    const sup = cmdline(srv.pid);
    assert.not.ok(sup.includes(token), `supervisor: ${sup}`);
    assert.ok(sup.includes('***'), sup);
    for (const pid of gens) {
      const line = cmdline(pid);
      assert.not.ok(line.includes(token), `generation ${pid}: ${line}`);
      assert.not.ok(line.includes('--token'), `generation ${pid}: ${line}`);
    }
    // The supervisor writes it right after 'listening': it may not have arrived with that line.
    const warning = await waitFor('a warning naming the flag', () =>
      srv.logs().find((l) => l.level === 'warn' && l.flag === '--token'),
    );
    assert.match(String(warning.msg), /WECHAT_SCHEDULER_TOKEN/);
    assert.not.ok(srv.output().includes(token), 'the token is in no log line');
    assert.is(await srv.stop(), 0);
  });
}

test('a token from the environment is not warned about', async () => {
  const token = 'argv-env-token-77aa';
  const srv = await startServer({ wechatApi: sim.url, env: { WECHAT_SCHEDULER_TOKEN: token }, token, workers: 1 });
  assert.is((await srv.api.get('/apps')).status, 200);
  // Read once the server has stopped and its output has ended: a warning could not still be on its way.
  assert.is(await srv.stop(), 0);
  assert.ok(
    srv.logs().some((l) => l.msg === 'stopped'),
    'the whole output was read',
  );
  assert.not.ok(srv.logs().some((l) => l.flag === '--token'));
});

test.run();
