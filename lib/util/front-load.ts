import { performance } from 'node:perf_hooks';

/** How often the front thread samples its event-loop utilisation. */
const SAMPLE_MS = 100;
/** The front counts as saturated from a sample this busy on, until one is under RELIEVED. */
const SATURATED = 0.8;
const RELIEVED = 0.5;

/**
 * Whether the front thread is saturated, from its event-loop utilisation
 * every 100 ms, as one word shared with the shard threads. The two
 * thresholds keep it from flapping: as soon as the shards hold back, the
 * front has room and its utilisation dips. Shards read it before
 * starting timer-fired fetches: while the thread answering HTTP is
 * saturated, they run one fetch at a time, at most one start per 20 ms,
 * and leave it the CPU, then catch up in due order (workers/shard.ts,
 * workers/refresh-timers.ts). On two cores, 100k
 * registrations otherwise ran at ~3,000/s with every shard fetching beside
 * them. Unlike a lower nice value for the shards, this costs nothing when
 * the front is not busy (a refresh storm).
 */
export class FrontLoad {
  private readonly word: Int32Array;
  private sampler: NodeJS.Timeout | null = null;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(4)) {
    this.word = new Int32Array(buffer);
  }

  get saturated(): boolean {
    return Atomics.load(this.word, 0) === 1;
  }

  /** Front thread only: sample this thread every 100 ms and publish whether it is saturated, until stop(). */
  start(): void {
    let last = performance.eventLoopUtilization();
    this.sampler = setInterval(() => {
      const now = performance.eventLoopUtilization();
      const busy = performance.eventLoopUtilization(now, last).utilization;
      last = now;
      if (busy >= SATURATED) Atomics.store(this.word, 0, 1);
      else if (busy < RELIEVED) Atomics.store(this.word, 0, 0);
    }, SAMPLE_MS);
    this.sampler.unref();
  }

  stop(): void {
    if (this.sampler) clearInterval(this.sampler);
    this.sampler = null;
    Atomics.store(this.word, 0, 0);
  }
}
