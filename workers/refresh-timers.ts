/** Something the shard's timer wakes at its due time; it keeps its own place in the heap. */
export interface TimerEntry {
  /** Position in the heap, -1 when not scheduled. Written by RefreshTimers only. */
  heapIndex: number;
  /** Called once, in a timer turn, at or after the due time. */
  fire(): void;
}

/** Node's setTimeout takes at most a signed 32-bit delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * All refresh timers of one shard: an indexed binary min-heap of entries by
 * due time (epoch ms) and ONE Node timer armed for the earliest. A Timeout,
 * its list and closure per task cost ~260 B; at 100k tasks that was 26 MB
 * per shard. Due times live in a Float64Array beside the heap, so no entry
 * carries a boxed number for it. Entries due together all fire in one turn
 * (unlike Node's timers, without draining microtasks between them); their
 * fetches queue on the WeChat concurrency limiter anyway.
 */
export class RefreshTimers {
  private entries: TimerEntry[] = [];
  private due = new Float64Array(64);
  private timer: NodeJS.Timeout | null = null;
  /** Due time the Node timer is armed for; when clamped, it fires earlier and re-arms. */
  private armedFor = 0;
  private armedClamped = false;

  get size(): number {
    return this.entries.length;
  }

  /** Schedule `e` at `at`, moving it when it was scheduled already. */
  schedule(e: TimerEntry, at: number): void {
    // NaN would break the heap's order; setTimeout took a NaN delay as "now".
    if (Number.isNaN(at)) at = 0;
    let i = e.heapIndex;
    if (i < 0) {
      i = this.entries.length;
      if (i === this.due.length) this.grow();
      this.entries.push(e);
      e.heapIndex = i;
      this.due[i] = at;
      this.up(i);
    } else {
      const was = this.due[i]!;
      this.due[i] = at;
      if (at < was) this.up(i);
      else this.down(i);
    }
    this.arm();
  }

  /** Take `e` out of the heap; nothing when it is not in it. */
  cancel(e: TimerEntry): void {
    const i = e.heapIndex;
    if (i < 0) return;
    this.removeAt(i);
    this.arm();
  }

  /** Drop every entry and the Node timer. */
  clear(): void {
    for (const e of this.entries) e.heapIndex = -1;
    this.entries = [];
    this.disarm();
  }

  private removeAt(i: number): void {
    const last = this.entries.length - 1;
    const e = this.entries[i]!;
    e.heapIndex = -1;
    if (i !== last) {
      const moved = this.entries[last]!;
      this.entries[i] = moved;
      this.due[i] = this.due[last]!;
      moved.heapIndex = i;
    }
    this.entries.pop();
    if (i < this.entries.length) {
      const moved = this.entries[i]!;
      this.up(i);
      this.down(moved.heapIndex);
    }
  }

  /**
   * Keep the Node timer armed for the head. A head later than the armed time
   * leaves it armed (the early wake just re-arms): cheaper than a new Timeout
   * on every removal.
   */
  private arm(): void {
    if (this.entries.length === 0) {
      this.disarm();
      return;
    }
    const head = this.due[0]!;
    if (this.timer && head >= this.armedFor) return;
    this.disarm();
    const delay = Math.max(0, head - Date.now());
    this.armedClamped = delay > MAX_TIMER_MS;
    this.armedFor = head;
    this.timer = setTimeout(() => this.onTimer(), Math.min(delay, MAX_TIMER_MS));
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private onTimer(): void {
    this.timer = null;
    // Node fired the timer, so by its clock the armed time has come, even when Date.now() lags a millisecond.
    const upTo = this.armedClamped ? Date.now() : Math.max(Date.now(), this.armedFor);
    const fired: TimerEntry[] = [];
    while (this.entries.length > 0 && this.due[0]! <= upTo) {
      fired.push(this.entries[0]!);
      this.removeAt(0);
    }
    // Re-arm before firing: a fire() may schedule again.
    this.arm();
    for (const e of fired) e.fire();
  }

  private grow(): void {
    const next = new Float64Array(this.due.length * 2);
    next.set(this.due);
    this.due = next;
  }

  private up(i: number): void {
    const e = this.entries[i]!;
    const at = this.due[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.due[p]! <= at) break;
      this.place(this.entries[p]!, this.due[p]!, i);
      i = p;
    }
    this.place(e, at, i);
  }

  private down(i: number): void {
    const n = this.entries.length;
    const e = this.entries[i]!;
    const at = this.due[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.due[r]! < this.due[l]! ? r : l;
      if (this.due[c]! >= at) break;
      this.place(this.entries[c]!, this.due[c]!, i);
      i = c;
    }
    this.place(e, at, i);
  }

  private place(e: TimerEntry, at: number, i: number): void {
    this.entries[i] = e;
    this.due[i] = at;
    e.heapIndex = i;
  }
}
