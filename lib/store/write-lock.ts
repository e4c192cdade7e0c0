import { threadId } from 'node:worker_threads';
import { StoreBusy } from './group-commit.js';

/**
 * How long a writer waits for another thread's transaction before it goes
 * ahead anyway. Going ahead is always safe (SQLite's own lock still
 * serialises the writers); it only matters when the holder died mid-commit
 * (a shard thread killed by its heap limit) and will never release.
 */
const WAIT_MS = 250;

/**
 * The SQLite write lock of one generation's threads (front + shards), as one
 * shared word: 0 = free, else the holder's threadId + 1. Without it the
 * connections meet on SQLite's busy handler, which sleeps 1, 2, 5, 10… ms
 * and re-polls: under a registration storm each shard thread spent ~4 % of
 * its time asleep there in stalls of up to 16 ms, its event loop stopped
 * while the lock was long free. Atomics.wait wakes the next writer the
 * moment the holder commits. Writers in another process (the generation
 * taking over on SIGHUP) still meet on SQLite's busy timeout.
 */
export class WriteLock {
  private readonly word: Int32Array;
  private readonly me = threadId + 1;
  /** Nested run() on this thread (a checkpoint inside a commit path) takes the lock once. */
  private depth = 0;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(4)) {
    this.word = new Int32Array(buffer);
  }

  run<T>(body: () => T): T {
    if (this.depth++ === 0) this.acquire();
    try {
      return body();
    } finally {
      if (--this.depth === 0) this.release();
    }
  }

  /**
   * Like run(), but never waits: throws StoreBusy while another thread
   * holds the lock (the HTTP thread must not block). `waitingSince`: when
   * the caller first found it taken; past WAIT_MS the holder is presumed
   * dead and the lock is taken over, as run() does.
   */
  tryRun<T>(body: () => T, waitingSince: number): T {
    if (this.depth === 0) {
      const holder = Atomics.compareExchange(this.word, 0, 0, this.me);
      if (holder !== 0 && holder !== this.me) {
        if (Date.now() - waitingSince < WAIT_MS) throw new StoreBusy('another thread is writing');
        Atomics.store(this.word, 0, this.me);
      }
    }
    this.depth++;
    try {
      return body();
    } finally {
      if (--this.depth === 0) this.release();
    }
  }

  private acquire(): void {
    let waitingOn = 0;
    let deadline = 0;
    for (;;) {
      const holder = Atomics.compareExchange(this.word, 0, 0, this.me);
      if (holder === 0) return;
      const now = performance.now();
      // WAIT_MS per holder: a writer that lost the race to several others in
      // turn must not take over from the one that has only just come in.
      if (holder !== waitingOn) {
        waitingOn = holder;
        deadline = now + WAIT_MS;
      } else if (now >= deadline) {
        Atomics.store(this.word, 0, this.me);
        return;
      }
      Atomics.wait(this.word, 0, holder, deadline - now);
    }
  }

  private release(): void {
    // Only when still ours: after a take-over (see WAIT_MS) the word belongs to the new holder.
    if (Atomics.compareExchange(this.word, 0, this.me, 0) === this.me) Atomics.notify(this.word, 0, 1);
  }
}
