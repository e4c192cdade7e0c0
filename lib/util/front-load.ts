import { performance } from 'node:perf_hooks';

/** How often the front thread publishes its event-loop utilisation. */
const SAMPLE_MS = 100;
/** At or above this share of the last sample busy, the front counts as saturated. */
const SATURATED_PER_MILLE = 900;

/**
 * The front thread's event-loop utilisation over the last 100 ms, as one
 * word shared with the shard threads (per mille). Shards read it before
 * starting timer-fired fetches: while the thread answering HTTP is
 * saturated, they start one fetch at a time and leave it the CPU, then
 * catch up in due order (workers/refresh-timers.ts). On two cores, 100k
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

  /** True when the front's last sample was at least 90 % busy. */
  get saturated(): boolean {
    return Atomics.load(this.word, 0) >= SATURATED_PER_MILLE;
  }

  /** Front thread only: publish this thread's utilisation every 100 ms until stop(). */
  start(): void {
    let last = performance.eventLoopUtilization();
    this.sampler = setInterval(() => {
      const now = performance.eventLoopUtilization();
      Atomics.store(this.word, 0, Math.round(performance.eventLoopUtilization(now, last).utilization * 1000));
      last = now;
    }, SAMPLE_MS);
    this.sampler.unref();
  }

  stop(): void {
    if (this.sampler) clearInterval(this.sampler);
    this.sampler = null;
    Atomics.store(this.word, 0, 0);
  }
}
