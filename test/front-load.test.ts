// lib/util/front-load.ts: the front thread's busy share, as the shard threads read it.
import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FrontLoad } from '../lib/util/front-load.js';
import { waitFor } from './helpers/poll.js';

/** Keep this thread busy for longer than one 100 ms sample, as a front answering a registration storm. */
function busy(): void {
  const until = Date.now() + 150;
  while (Date.now() < until) {
    /* spin */
  }
}

test('saturated while this thread is kept busy, not once it idles; another thread sees the same word', async () => {
  const load = new FrontLoad();
  const reader = new FrontLoad(load.buffer);
  // A thread like a shard, watching the shared word until it says saturated.
  const seen = new Int32Array(new SharedArrayBuffer(4));
  const watcher = new Worker(
    `const { workerData } = require('node:worker_threads');
     const word = new Int32Array(workerData.word), seen = new Int32Array(workerData.seen);
     const end = Date.now() + 30000;
     while (Date.now() < end && Atomics.load(word, 0) !== 1);
     Atomics.store(seen, 0, 1);`,
    { eval: true, workerData: { word: load.buffer, seen: seen.buffer } },
  );
  load.start();
  try {
    assert.not.ok(reader.saturated, 'nothing published yet');
    await waitFor('a saturated sample', () => (busy(), reader.saturated), 20_000, 1);
    await waitFor('the other thread to see it', () => (busy(), Atomics.load(seen, 0) === 1), 20_000, 1);
    await waitFor('an idle sample', () => !reader.saturated, 20_000, 50);
  } finally {
    load.stop();
    await watcher.terminate();
  }
  assert.not.ok(reader.saturated, 'stop() clears it');
});

test.run();
