/** Booked seconds further back than this are forgotten (on the next prune). */
const PRUNE_EVERY_MS = 60_000;

/**
 * How many refreshes of one shard are booked for each second. Each task may
 * refresh anywhere in its jitter window (lib/timing.ts refreshWindow: up to
 * 5 % of its lifetime, at most 60 s, before the refresh point); picking the
 * least booked second of that window, instead of a uniformly random one,
 * levels a burst: 60k tasks fetched in 12 s at 5,000/s with 12 s windows
 * come due at up to ~4,800/s with uniform jitter, ~3,400/s levelled
 * (test/refresh-calendar.test.ts; bench/results/2026-11-24.md, round 6).
 *
 * Bookings are never taken back: a refresh that is moved (a failure, a
 * passive refresh) leaves its old second counted once too often. That only
 * nudges later bookings away from it.
 */
export class RefreshCalendar {
  private readonly booked = new Map<number, number>();
  private prunedAt = 0;

  /** A time within [earliest, latest] in the least booked second, booked; ties go to a random one. */
  book(earliest: number, latest: number, random: () => number = Math.random): number {
    const first = Math.ceil(earliest / 1000);
    const last = Math.floor((latest - 999) / 1000); // whole seconds inside the window
    if (last < first) return latest - Math.floor(random() * Math.max(0, latest - earliest));
    const n = last - first + 1;
    const start = Math.floor(random() * n);
    let best = first + start;
    let fewest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const second = first + ((start + i) % n);
      const count = this.booked.get(second) ?? 0;
      if (count < fewest) {
        best = second;
        fewest = count;
        if (count === 0) break;
      }
    }
    this.booked.set(best, fewest + 1);
    this.prune(Date.now());
    return best * 1000 + Math.floor(random() * 1000);
  }

  private prune(now: number): void {
    if (now - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = now;
    const past = Math.floor(now / 1000) - 1;
    for (const second of this.booked.keys()) if (second < past) this.booked.delete(second);
  }
}
