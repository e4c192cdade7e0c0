// Issue 15: the data directory. One server per directory (a lock the kernel
// drops on any exit, kill -9 included); a directory that is not ours is
// refused, never changed.
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from './helpers/poll.js';
import { runToExit, startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const TOKEN = 'data-dir-test-token';
let sim: Sim;

test.before(async () => {
  sim = await startSim();
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

const serverArgs = (dataDir: string) => [
  '-p',
  '0',
  '--host',
  '127.0.0.1',
  '--data-dir',
  dataDir,
  '--wechat-api',
  sim.url,
  '--workers',
  '1',
];
/** The lines a refused start printed (no JSON log lines). */
const plainLines = (out: string) => out.split('\n').filter((l) => l.trim() !== '');

test('a second server on a data dir in use refuses to start, naming the dir and the pid; kill -9 frees the dir', async () => {
  const dataDir = join(tempDir(), 'data');
  const first = await startServer({ wechatApi: sim.url, dataDir, args: ['--token', TOKEN], token: TOKEN, workers: 1 });
  assert.is(
    (await first.api.register({ appid: 'wxlock1', appsecret: 'lock-secret', tasks: [{ type: 0 }] })).status,
    200,
  );
  const value = await first.api.awaitValue('wxlock1', 0);

  const second = await runToExit([...serverArgs(dataDir), '--token', TOKEN]);
  assert.is.not(second.code, 0, second.out);
  const lines = plainLines(second.out);
  assert.is(lines.length, 1, second.out);
  assert.ok(lines[0]!.includes(dataDir), lines[0]);
  assert.ok(lines[0]!.includes(`pid ${first.pid}`), lines[0]);
  // The running one is untouched and still the only one fetching.
  assert.is(await first.api.value('wxlock1', 0), value);

  // A reload keeps working: the lock is the supervisor's, not a generation's.
  first.signal('SIGHUP');
  await waitFor('the reload', () => first.logs().some((l) => l.msg === 'reload: new generation owns the apps'), 60_000);
  assert.is(await first.api.value('wxlock1', 0), value);
  const third = await runToExit([...serverArgs(dataDir), '--token', TOKEN]);
  assert.is.not(third.code, 0, third.out);

  // kill -9 of the whole service: the kernel releases the lock; a new server starts at once.
  process.kill(-first.pid, 'SIGKILL');
  await first.exited;
  const after = await startServer({ wechatApi: sim.url, dataDir, args: ['--token', TOKEN], token: TOKEN, workers: 1 });
  assert.is(await after.api.awaitValue('wxlock1', 0), value);
  assert.is(await after.stop(), 0);
});

test('a shared 1777 directory holding other files is refused and left exactly as it was', async () => {
  const dir = join(tempDir(), 'shared');
  mkdirSync(dir);
  chmodSync(dir, 0o1777);
  writeFileSync(join(dir, 'someone-elses.txt'), 'hello');
  const r = await runToExit(serverArgs(dir));
  assert.is.not(r.code, 0, r.out);
  assert.is(plainLines(r.out).length, 1, r.out);
  assert.match(r.out, dir);
  assert.is(statSync(dir).mode & 0o7777, 0o1777);
  assert.equal(readdirSync(dir), ['someone-elses.txt']);
});

test('a world-writable, a sticky or a foreign-file directory is refused; its mode is not changed', async () => {
  const cases: Array<{ name: string; mode: number; file?: string; says: RegExp }> = [
    { name: 'world-writable', mode: 0o777, says: /writable by every user/ },
    { name: 'sticky', mode: 0o1755, says: /sticky/ },
    { name: 'foreign file', mode: 0o700, file: 'notes.md', says: /holds "notes\.md"/ },
  ];
  for (const c of cases) {
    const dir = join(tempDir(), c.name.replace(/ /g, '-'));
    mkdirSync(dir);
    chmodSync(dir, c.mode);
    if (c.file) writeFileSync(join(dir, c.file), 'x');
    const r = await runToExit(serverArgs(dir));
    assert.is.not(r.code, 0, `${c.name}: ${r.out}`);
    assert.match(r.out, c.says, c.name);
    assert.is(statSync(dir).mode & 0o7777, c.mode, c.name);
    assert.not.ok(existsSync(join(dir, 'wechat-scheduler.db')), `${c.name}: no store created`);
  }
});

test('a missing data dir is created 0700; an own empty one is closed to 0700', async () => {
  const missing = join(tempDir(), 'a', 'b');
  const s1 = await startServer({ wechatApi: sim.url, dataDir: missing, workers: 1 });
  assert.is(statSync(missing).mode & 0o777, 0o700);
  assert.is(await s1.stop(), 0);
  const own = join(tempDir(), 'own');
  mkdirSync(own, { mode: 0o755 });
  chmodSync(own, 0o755);
  const s2 = await startServer({ wechatApi: sim.url, dataDir: own, workers: 1 });
  assert.is(statSync(own).mode & 0o777, 0o700);
  assert.is(await s2.stop(), 0);
});

test.run();
