// A thread for store-write-lock.test.ts: takes the shared WriteLock, as a shard's store does.
import { parentPort, workerData } from 'node:worker_threads';
import { WriteLock } from '../../lib/store/write-lock.js';

const { lock, counter, inside, rounds, die } = workerData as {
  lock: SharedArrayBuffer;
  counter: Int32Array;
  inside: Int32Array;
  rounds: number;
  die: boolean;
};
const writeLock = new WriteLock(lock);

if (die) {
  // Killed mid-commit: the thread ends inside run(), its release never happens.
  writeLock.run(() => {
    parentPort!.postMessage('holding');
    process.exit(0);
  });
}
for (let i = 0; i < rounds; i++) {
  writeLock.run(() => {
    // Two writers inside at once is what the lock exists to prevent.
    if (Atomics.add(inside, 0, 1) !== 0) Atomics.add(inside, 1, 1);
    const v = Atomics.load(counter, 0);
    for (let spin = 0; spin < 200; spin++) Atomics.load(counter, 0);
    Atomics.store(counter, 0, v + 1);
    Atomics.sub(inside, 0, 1);
  });
}
parentPort!.postMessage('done');
