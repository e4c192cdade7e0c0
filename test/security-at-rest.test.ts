// Issue 3: appsecrets encrypted at rest (AES-256-GCM, key from
// WECHAT_SCHEDULER_SECRET_KEY), the secret_gen rule kept on the decrypted
// value, and key rotation: turning encryption on, rotating, refusing a
// wrong or missing key, and turning it off again, across restarts.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { at } from './helpers/must.js';
import { waitFor } from './helpers/poll.js';
import { BIN, RunningServer, startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const TOKEN = 'tok-at-rest-8e2f';
const KEY1 = randomBytes(32).toString('hex');
const KEY2 = randomBytes(32).toString('base64');
const SECRET1 = 'S3cr3t-rest-one-1a2b3c4d';
const SECRET1_NEW = 'S3cr3t-rest-one-NEW-77e1';
const SECRET2 = 'S3cr3t-rest-two-4d5e6f70';

let sim: Sim;
let dataDir: string;
let srv: RunningServer | undefined;
const values: Record<string, string> = {};

function start(key: string | undefined) {
  return startServer({
    wechatApi: sim.url,
    dataDir,
    args: ['--token', TOKEN],
    token: TOKEN,
    env: key === undefined ? {} : { WECHAT_SCHEDULER_SECRET_KEY: key },
  });
}

/** Everything on disk under the data directory, main file, WAL and shared memory. */
function onDisk(): Buffer {
  return Buffer.concat(readdirSync(dataDir).map((f) => readFileSync(join(dataDir, f))));
}

function storedApps(): Array<{ appid: string; secret: string; secret_gen: number }> {
  const db = new Database(join(dataDir, 'wechat-scheduler.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT appid, secret, secret_gen FROM apps ORDER BY appid').all() as Array<{
      appid: string;
      secret: string;
      secret_gen: number;
    }>;
  } finally {
    db.close();
  }
}

async function value(appid: string): Promise<string> {
  return waitFor(`${appid} served`, () => srv!.api.value(appid, 0).catch(() => undefined), 30_000);
}

async function fetchesOf(appid: string): Promise<number> {
  return (await sim.calls(appid)).token;
}

/** Starting must fail: exit non-zero with one line that explains, and no key material in it. */
async function refusedWith(key: string | undefined, pattern: RegExp) {
  const env: NodeJS.ProcessEnv = { ...process.env, WECHAT_SCHEDULER_SECRET_KEY: key };
  if (key === undefined) delete env.WECHAT_SCHEDULER_SECRET_KEY;
  const args = [
    BIN,
    '-p',
    '0',
    '--host',
    '127.0.0.1',
    '--data-dir',
    dataDir,
    '--wechat-api',
    sim.url,
    '--token',
    TOKEN,
  ];
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('close', (c) => {
      clearTimeout(timer);
      resolve({ code: c, stderr: err });
    });
  });
  assert.ok(code !== 0 && code !== null, `the server refused to start (exit ${code})`);
  assert.is(stderr.trim().split('\n').length, 1, `one line: ${stderr}`);
  assert.match(stderr, pattern);
  for (const k of [KEY1, KEY2])
    assert.not.ok(stderr.includes(k) || stderr.includes(k.slice(0, 16)), 'no key material in the error');
}

test.before(async () => {
  sim = await startSim();
  dataDir = join(tempDir(), 'data');
});

test.after(async () => {
  await stopAll();
  await sim.close();
});

test('with a key, appsecrets are AES-256-GCM on disk and served as usual', async () => {
  srv = await start(KEY1);
  for (const [appid, appsecret] of [
    ['wxrest1', SECRET1],
    ['wxrest2', SECRET2],
  ]) {
    const r = await srv.api.register({ appid, appsecret, tasks: [{ type: 0 }] });
    assert.is(r.status, 200, r.text);
  }
  values.wxrest1 = await value('wxrest1');
  values.wxrest2 = await value('wxrest2');
  const disk = onDisk();
  assert.not.ok(disk.includes(SECRET1) || disk.includes(SECRET2), 'no appsecret in the files');
  const rows = storedApps();
  assert.ok(
    rows.every((r) => /^wsenc1:[0-9a-f]{12}:[\w-]{16}:[\w-]+$/.test(r.secret)),
    JSON.stringify(rows.map((r) => r.secret.slice(0, 20))),
  );
  const iv = (i: number) => at(at(rows, i, 'stored app').secret.split(':'), 2, 'IV');
  assert.is.not(iv(0), iv(1), 'a fresh IV for each secret');
});

test('re-registering the same secret changes nothing (the comparison is on the decrypted value); a new secret refetches', async () => {
  const gen = () => storedApps().find((r) => r.appid === 'wxrest1')!.secret_gen;
  const stored = () => storedApps().find((r) => r.appid === 'wxrest1')!.secret;
  const before = { gen: gen(), stored: stored(), fetches: await fetchesOf('wxrest1') };
  for (let i = 0; i < 3; i++) {
    const r = await srv!.api.register({ appid: 'wxrest1', appsecret: SECRET1, tasks: [{ type: 0 }] });
    assert.is(r.status, 200, r.text);
  }
  assert.is(gen(), before.gen, 'secret_gen did not move');
  assert.is(stored(), before.stored, 'the stored ciphertext was kept');
  assert.is(await srv!.api.value('wxrest1', 0), values.wxrest1);
  assert.is(await fetchesOf('wxrest1'), before.fetches, 'no refetch');

  await sim.addApp({ appid: 'wxrest1', secret: SECRET1_NEW });
  const r = await srv!.api.register({ appid: 'wxrest1', appsecret: SECRET1_NEW, tasks: [{ type: 0 }] });
  assert.is(r.status, 200, r.text);
  assert.is(gen(), before.gen + 1, 'secret_gen moved with the real change');
  values.wxrest1 = await waitFor(
    'the refetch with the new secret',
    async () => {
      const v = await srv!.api.value('wxrest1', 0);
      return v !== values.wxrest1 ? v : undefined;
    },
    30_000,
  );
  assert.not.ok(onDisk().includes(SECRET1_NEW));
  assert.is(await srv!.stop(), 0);
});

test('rotation: "new,old" re-encrypts every secret at start, with no refetch; the old key alone is then refused', async () => {
  const fetches = (await sim.stats()).calls.token;
  const oldIds = new Set(storedApps().map((r) => r.secret.split(':')[1]));
  srv = await start(`${KEY2},${KEY1}`);
  // The generation writes it; the supervisor's 'listening' that startServer awaited may come first.
  const line = await waitFor('the re-encoding line', () =>
    srv!.logs().find((l) => l.msg === 'appsecrets re-encoded with the current key'),
  );
  assert.is(line.apps, 2, 'both apps re-encoded');
  assert.is(await srv.api.value('wxrest1', 0), values.wxrest1, 'served at once, same value');
  assert.is(await srv.api.value('wxrest2', 0), values.wxrest2);
  const rows = storedApps();
  assert.is(new Set(rows.map((r) => r.secret.split(':')[1])).size, 1);
  assert.not.ok(oldIds.has(at(at(rows, 0, 'stored app').secret.split(':'), 1, 'key id')), 'now under the new key id');
  assert.not.ok(onDisk().includes(SECRET1_NEW) || onDisk().includes(SECRET2));
  assert.is(await srv.stop(), 0);

  // A second start with the same ring has nothing left to do.
  srv = await start(`${KEY2},${KEY1}`);
  // Its thread writes 'generation started' after the re-encoding would have been logged.
  await waitFor('the generation started line', () => srv!.logs().some((l) => l.msg === 'generation started'));
  assert.not.ok(srv.logs().some((l) => l.msg === 'appsecrets re-encoded with the current key'));
  assert.is(await srv.stop(), 0);

  await refusedWith(KEY1, /encrypted with key id [0-9a-f]{12}, which WECHAT_SCHEDULER_SECRET_KEY does not hold/);
  await refusedWith(undefined, /encrypted appsecrets but WECHAT_SCHEDULER_SECRET_KEY is not set/);
  await refusedWith('not-a-key', /WECHAT_SCHEDULER_SECRET_KEY must be one or more comma-separated 32-byte keys/);
  assert.is((await sim.stats()).calls.token, fetches, 'no WeChat fetch in all these restarts');
});

test('turning encryption off (",<key>") stores the secrets plain again; turning it on encrypts them', async () => {
  srv = await start(`,${KEY2}`);
  assert.is(await srv.api.value('wxrest1', 0), values.wxrest1);
  assert.ok(storedApps().every((r) => !r.secret.startsWith('wsenc1:')));
  assert.is(await srv.stop(), 0);
  // Canary for the search below: plain secrets are found on disk.
  assert.ok(onDisk().includes(SECRET1_NEW), 'canary: the plain secret is on disk');

  srv = await start(KEY1);
  assert.is(await srv.api.value('wxrest2', 0), values.wxrest2);
  // The plain forms are gone from every file, not just replaced in the table: secure_delete zeroed
  // the old cells and the start-up rewrap checkpointed the WAL.
  const disk = onDisk();
  assert.not.ok(disk.includes(SECRET1_NEW) || disk.includes(SECRET2), 'no plain secret left anywhere on disk');
  assert.is(await srv.stop(), 0);
});

test.run();
