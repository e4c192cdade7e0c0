// The generation's SQLite write lock, shared by the front and shard threads
// (lib/store/write-lock.ts): one writer at a time, and a holder that dies
// mid-commit does not stop the others.
import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WriteLock } from '../lib/store/write-lock.js';

const WORKER = new URL('./helpers/write-lock-worker.ts', import.meta.url).href;
// Node 20 loads a worker's entry before `--import tsx` has hooked in, so the entry registers tsx itself.
const ENTRY = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER)}); })`;

function start(data: Record<string, unknown>): { worker: Worker; message: Promise<string>; exited: Promise<number> } {
  const worker = new Worker(ENTRY, { eval: true, workerData: data });
  const message = new Promise<string>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  return { worker, message, exited };
}

test('four threads writing at once: never two inside, no update lost', async () => {
  const lock = new WriteLock();
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const inside = new Int32Array(new SharedArrayBuffer(8));
  const rounds = 3000;
  const workers = Array.from({ length: 4 }, () => start({ lock: lock.buffer, counter, inside, rounds, die: false }));
  assert.equal(await Promise.all(workers.map((w) => w.message)), ['done', 'done', 'done', 'done']);
  await Promise.all(workers.map((w) => w.exited));
  assert.is(Atomics.load(inside, 1), 0, 'two writers were inside at once');
  assert.is(Atomics.load(counter, 0), 4 * rounds);
});

test('a thread that dies holding the lock: the next writer takes it over', async () => {
  const lock = new WriteLock();
  const word = new Int32Array(lock.buffer);
  const dying = start({
    lock: lock.buffer,
    counter: new Int32Array(new SharedArrayBuffer(4)),
    inside: new Int32Array(new SharedArrayBuffer(8)),
    rounds: 0,
    die: true,
  });
  assert.is(await dying.message, 'holding');
  const deadId = dying.worker.threadId;
  await dying.exited;
  assert.is(Atomics.load(word, 0), deadId + 1, 'the dead thread still holds the word');
  assert.is(
    lock.run(() => 'written'),
    'written',
  );
  assert.is(Atomics.load(word, 0), 0, 'released after the take-over');
  // Nested use on one thread takes the lock once and gives it back once.
  assert.is(
    lock.run(() => lock.run(() => Atomics.load(word, 0))),
    1,
  );
  assert.is(Atomics.load(word, 0), 0);
});

test.run();
