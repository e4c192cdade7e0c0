import { Clock, ClockTimer, systemClock } from '../lib/timing.js';
import { HeapItem, MinHeap } from '../lib/util/min-heap.js';

/** Something the shard's timer wakes at its due time; it keeps its own place in the heap. */
export interface TimerEntry extends HeapItem {
  /** Called once, in a timer turn, at or after the due time; settles when the work it started is done. */
  fire(): Promise<void>;
}

/** Node's setTimeout takes at most a signed 32-bit delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * All refresh timers of one shard: a min-heap of entries by due time (epoch
 * ms) and ONE Node timer armed for the earliest, instead of a Timeout, its
 * list and closure per task. Entries due together all fire in one turn
 * (unlike Node's timers, without draining microtasks between them).
 *
 * At most `maxRunning` fired entries run at once; the others stay in the
 * heap, in due order, until one finishes. A burst (100k apps registered at
 * once, or a restore) then waits as heap slots, not as ~1–2 KB of suspended
 * fetch chains each queued on the WeChat limiter: at 100k that backlog was
 * 100+ MB of a shard's heap. A run that has not finished after `detachMs`
 * (a slow params callback, WeChat near its timeout) stops counting, so one
 * slow tenant holds the others back for that long at most.
 */
export class RefreshTimers {
  private readonly heap = new MinHeap<TimerEntry>();
  private timer: ClockTimer | null = null;
  /** Due time the Node timer is armed for; when clamped, it fires earlier and re-arms. */
  private armedFor = 0;
  private armedClamped = false;
  /** Fired entries still running, with when they were fired. */
  private readonly running = new Map<TimerEntry, number>();
  private sweeper: ClockTimer | null = null;

  private readonly maxRunning: () => number;

  /** When the last fired entry started (for `paceMs`). */
  private lastStart = 0;

  /**
   * `maxRunning`: a bound, or a function read each time an entry could start
   * (it may change). `paceMs`: while it gives more than 0, at most one entry
   * starts per that many ms.
   */
  constructor(
    maxRunning: number | (() => number) = Number.POSITIVE_INFINITY,
    private readonly detachMs = 2_000,
    private readonly paceMs: () => number = () => 0,
    private readonly clock: Clock = systemClock,
  ) {
    this.maxRunning = typeof maxRunning === 'number' ? () => maxRunning : maxRunning;
  }

  /** Entries waiting in the heap (fired ones that still run are not counted). */
  get size(): number {
    return this.heap.size;
  }

  /** Fired entries counted as running. */
  get runningCount(): number {
    return this.running.size;
  }

  /** Schedule `e` at `at`, moving it when it was scheduled already. */
  schedule(e: TimerEntry, at: number): void {
    this.heap.set(e, at);
    this.arm();
  }

  /** Take `e` out of the heap; nothing when it is not in it. */
  cancel(e: TimerEntry): void {
    if (this.heap.delete(e)) this.arm();
  }

  /** Drop every entry and the Node timers. */
  clear(): void {
    this.heap.clear();
    this.running.clear();
    this.disarm();
    if (this.sweeper) this.clock.clearTimeout(this.sweeper);
    this.sweeper = null;
  }

  /**
   * Keep the Node timer armed for the head (while paced, no earlier than the
   * next start allowed). A head later than the armed time
   * leaves it armed (the early wake just re-arms): cheaper than a new Timeout
   * on every removal.
   */
  private arm(): void {
    if (this.heap.size === 0) {
      this.disarm();
      return;
    }
    if (this.saturated()) {
      // A finishing run (or the sweeper) fires what is due next.
      this.disarm();
      this.sweepLater();
      return;
    }
    const pace = this.paceMs();
    const due = this.heap.peekKey();
    const head = pace > 0 ? Math.max(due, this.lastStart + pace) : due;
    if (this.timer && head >= this.armedFor) return;
    this.disarm();
    const delay = Math.max(0, head - this.clock.now());
    this.armedClamped = delay > MAX_TIMER_MS;
    this.armedFor = head;
    this.timer = this.clock.setTimeout(() => this.onTimer(), Math.min(delay, MAX_TIMER_MS));
  }

  private disarm(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private onTimer(): void {
    this.timer = null;
    // Node fired the timer, so by its clock the armed time has come, even when Date.now() lags a millisecond.
    this.fireDue(this.armedClamped ? this.clock.now() : Math.max(this.clock.now(), this.armedFor));
  }

  private saturated(): boolean {
    return this.running.size >= this.maxRunning();
  }

  private fireDue(upTo: number): void {
    const fired: TimerEntry[] = [];
    const now = this.clock.now();
    const pace = this.paceMs();
    let budget = this.maxRunning() - this.running.size;
    if (pace > 0) budget = now - this.lastStart >= pace ? Math.min(budget, 1) : 0;
    while (this.heap.peekKey() <= upTo && fired.length < budget) fired.push(this.heap.pop()!);
    if (fired.length > 0) this.lastStart = now;
    for (const e of fired) this.running.set(e, now);
    // Re-arm before firing: a fire() may schedule again.
    this.arm();
    for (const e of fired) {
      const done = (): void => this.finished(e);
      e.fire().then(done, done);
    }
  }

  private finished(e: TimerEntry): void {
    if (!this.running.delete(e)) return; // detached already
    if (this.heap.size > 0) this.fireDue(this.clock.now());
  }

  /** While saturated, look every `detachMs` for runs that took longer than that. */
  private sweepLater(): void {
    if (this.sweeper) return;
    this.sweeper = this.clock.setTimeout(() => {
      this.sweeper = null;
      const now = this.clock.now();
      for (const [e, firedAt] of this.running) if (now - firedAt >= this.detachMs) this.running.delete(e);
      this.fireDue(now);
    }, this.detachMs);
    // Runs in flight keep the thread alive by themselves; this only watches them.
    this.sweeper.unref?.();
  }
}
