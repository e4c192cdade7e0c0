// A Clock (lib/timing.ts) that moves only when a test says so: timing logic
// is then checked to the millisecond, whatever the load on the machine.
import { Clock, ClockTimer } from '../../lib/timing.js';

interface Pending extends ClockTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private pending: Pending[] = [];
  private seq = 0;

  constructor(private t = 1_700_000_000_000) {}

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const p: Pending = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false, unref: () => p };
    this.pending.push(p);
    return p;
  }

  clearTimeout(timer: ClockTimer): void {
    (timer as Pending).cancelled = true;
  }

  /** Move time forward by `ms`, running every timer that comes due, in order, at its own time. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.pending = this.pending.filter((p) => !p.cancelled);
      const next = this.pending.filter((p) => p.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.pending = this.pending.filter((p) => p !== next);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
}
