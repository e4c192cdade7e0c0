// What a hostile world does to the task actors, through the real binary:
// a store that rejects writes (a full disk), an outside process holding
// SQLite's write lock, registrations and deletes that arrive while a fetch
// is in flight. Each actor handles one message at a time and changes its
// state only after the store acknowledged the write.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from './helpers/poll.js';
import { startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

let sim: Sim;
const mounts: string[] = [];

test.before(async () => {
  sim = await startSim();
});
test.after(async () => {
  // Lazily: a server still holding files there is killed just below.
  for (const m of mounts) {
    try {
      execFileSync('umount', ['-l', m]);
    } catch {
      /* already gone */
    }
  }
  await stopAll();
  await sim.close();
});

const STORE_FILE = 'wechat-scheduler.db';
const require = createRequire(import.meta.url);

/** The task's value as the store holds it (read from another connection, as a backup tool would). */
function storedValue(dataDir: string, appid: string, type: number): string | null {
  const db = new Database(join(dataDir, STORE_FILE), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT value FROM tasks WHERE appid = ? AND type = ?').get(appid, type) as
      { value: string | null } | undefined;
    return row?.value ?? null;
  } finally {
    db.close();
  }
}

/** A small tmpfs (root only): a disk that can really run full. */
function smallDisk(): string | null {
  if (process.getuid?.() !== 0) return null;
  const dir = tempDir('ws-full-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir]);
  } catch {
    return null;
  }
  mounts.push(dir);
  return dir;
}

/** Write zeros until the file system says it is full. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  // The last blocks: small writes until not even a page is left.
  const tail = openSync(`${file}.tail`, 'w');
  try {
    for (;;) writeSync(tail, Buffer.alloc(512));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(tail);
  }
}

test('a full disk: an error log line, retries with back-off, recovery by itself, nothing answered before it is stored', async () => {
  const disk = smallDisk();
  if (!disk) {
    console.log('  skipped: needs root to mount a small tmpfs');
    return;
  }
  const dataDir = join(disk, 'data');
  mkdirSync(dataDir);
  await sim.addApp({ appid: 'wxfull', secret: 'sfull', expiresIn: 5 });
  const srv = await startServer({ wechatApi: sim.url, dataDir, workers: 1 });
  await srv.api.register({ appid: 'wxfull', appsecret: 'sfull', tasks: [{ type: 0 }] });
  await srv.api.awaitValue('wxfull', 0);
  const filler = join(disk, 'filler');
  fill(filler);
  try {
    const callsAtFull = (await sim.calls('wxfull')).token;
    // A passive refresh while nothing can be stored: never a value the store does not hold.
    for (let i = 0; i < 3; i++) {
      const r = await srv.api.post('/task/wxfull/0/refresh');
      if (r.status === 200)
        assert.is(r.body.result, storedValue(dataDir, 'wxfull', 0), 'answered a value that was never stored');
      else assert.is(r.status, 503, r.text);
    }
    const failures = await waitFor(
      'two store write failures logged as errors',
      () => {
        const lines = srv
          .logs()
          .filter((l) => l.level === 'error' && /store/i.test(String(l.msg)) && l.appid === 'wxfull');
        return lines.length >= 2 ? lines : undefined;
      },
      40_000,
    );
    const delays = failures.map((l) => Number(l.retryInMs));
    assert.ok(
      delays.every((d) => d > 0),
      `retryInMs given: ${delays.join(',')}`,
    );
    assert.ok(delays[1]! >= delays[0]!, `back-off grows: ${delays.join(',')}`);
    assert.ok((await sim.calls('wxfull')).token > callsAtFull, 'the actor kept trying');
  } finally {
    rmSync(filler, { force: true });
    rmSync(`${filler}.tail`, { force: true });
  }
  // Space is back: the task recovers without a restart, and what it serves is what is stored.
  const value = await waitFor(
    'a value stored and served after the disk has room again',
    async () => {
      const r = await srv.api.get('/task/wxfull/0');
      if (r.status !== 200) return undefined;
      const v = r.body.result as string;
      return v === storedValue(dataDir, 'wxfull', 0) && (await sim.valid(v)) ? v : undefined;
    },
    60_000,
    250,
  );
  assert.ok(value);
  await srv.stop();
});

test('an appsecret changed while a fetch with the old one is in flight is used right after it', async () => {
  await sim.addApp({ appid: 'wxresecret', secret: 'sold' });
  await sim.fault({ endpoint: 'token', appid: 'wxresecret', delayMs: 1500, times: 1 });
  const srv = await startServer({ wechatApi: sim.url });
  await srv.api.register({ appid: 'wxresecret', appsecret: 'sold', tasks: [{ type: 0 }] });
  await waitFor('the first fetch to reach WeChat', async () => (await sim.calls('wxresecret')).token === 1);
  // WeChat now knows only the new secret: the fetch in flight will fail with 40125.
  await sim.addApp({ appid: 'wxresecret', secret: 'snew' });
  const r = await srv.api.register({ appid: 'wxresecret', appsecret: 'snew', tasks: [{ type: 0 }] });
  assert.is(r.status, 200, r.text);
  const value = await srv.api.awaitValue('wxresecret', 0);
  assert.ok(await sim.valid(value));
  assert.is((await sim.calls('wxresecret')).token, 2, 'one fetch with the old secret, one right after with the new');
  await srv.stop();
});

test('delete then re-register during a fetch: the late answer neither becomes nor invalidates the new value', async () => {
  // No grace: a token issued later makes every earlier one invalid at once.
  await sim.config({ graceSeconds: 0 });
  try {
    await sim.addApp({ appid: 'wxreborn', secret: 'sreborn' });
    await sim.fault({ endpoint: 'token', appid: 'wxreborn', delayMs: 2000, times: 1 });
    const srv = await startServer({ wechatApi: sim.url });
    await srv.api.register({ appid: 'wxreborn', appsecret: 'sreborn', tasks: [{ type: 0 }] });
    await waitFor('the first fetch to reach WeChat', async () => (await sim.calls('wxreborn')).token === 1, 20_000, 20);
    const firstCallAt = Date.now();
    assert.is((await srv.api.del('/app/wxreborn')).status, 200);
    assert.is((await srv.api.register({ appid: 'wxreborn', appsecret: 'sreborn', tasks: [{ type: 0 }] })).status, 200);
    // The delayed answer comes 2 s after the first call reached WeChat; give it 3 s more to be handled.
    await new Promise((r) => setTimeout(r, Math.max(0, firstCallAt + 5000 - Date.now())));
    await srv.api.awaitValue('wxreborn', 0);
    const value = await srv.api.value('wxreborn', 0);
    assert.ok(await sim.valid(value), 'the value served is the newest WeChat issued');
    assert.is(storedValue(srv.dataDir, 'wxreborn', 0), value);
    await srv.stop();
  } finally {
    await sim.config({ graceSeconds: 300 });
  }
});

test('an outside writer holding the SQLite write lock does not freeze GET /task', async () => {
  await sim.addApp({ appid: 'wxlocked', secret: 'slocked' });
  const srv = await startServer({ wechatApi: sim.url, workers: 1 });
  await srv.api.register({ appid: 'wxlocked', appsecret: 'slocked', tasks: [{ type: 0 }] });
  const value = await srv.api.awaitValue('wxlocked', 0);
  // A backup tool: BEGIN IMMEDIATE from another process, held for 6 s.
  const holder = spawn(
    process.execPath,
    [
      '-e',
      `
    const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
    const db = new Database(${JSON.stringify(join(srv.dataDir, STORE_FILE))});
    db.pragma('busy_timeout = 10000');
    db.exec('BEGIN IMMEDIATE');
    console.log('holding');
    setTimeout(() => { console.log('releasing at ' + Date.now()); db.exec('COMMIT'); }, 6000);
  `,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  holder.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  // 'close': the holder has exited and all it printed has been read.
  const closed = new Promise((r) => holder.on('close', r));
  await waitFor('the outside writer to hold the lock', () => out.includes('holding'));
  // A registration needs the lock; it must not take the HTTP thread with it.
  const registration = srv.api.register({ appid: 'wxlocked2', appsecret: 's2', tasks: [{ type: 0 }] });
  await new Promise((r) => setTimeout(r, 300));
  const r = await srv.api.get('/task/wxlocked/0');
  const answeredAt = Date.now();
  assert.is(r.status, 200);
  assert.is(r.body.result, value);
  const reg = await registration;
  assert.is(reg.status, 200, reg.text);
  await closed;
  // The holder takes the time before it lets go: an answer held up by the lock would come after it.
  const releasingAt = Number(/releasing at (\d+)/.exec(out)?.[1]);
  assert.ok(answeredAt < releasingAt, `GET /task answered at ${answeredAt}, the lock let go at ${releasingAt}`);
  await srv.api.awaitValue('wxlocked2', 0);
  await srv.stop();
});

test.run();
