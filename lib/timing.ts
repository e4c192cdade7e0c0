/** The timing rules of docs/api.md §4, as pure functions of epoch milliseconds. */

export const BACKOFF_CAP_MS = 300_000;
const FIRST_RETRY_MS = 1_000;

/**
 * Time for logic that depends on it: the system clock in the server, a
 * manual one in tests, so that timing is tested exactly instead of racing
 * the wall clock.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): ClockTimer;
  clearTimeout(t: ClockTimer): void;
}
/** What Clock.setTimeout gives back; `unref` lets a process end while it is pending. */
export interface ClockTimer {
  unref?(): unknown;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
};

/** When to refresh: remaining lifetime falls to min(300 s, 20 % of expires_in). */
export function refreshAt(expiresAt: number, expiresInSec: number): number {
  const margin = Math.min(300, 0.2 * expiresInSec) * 1000;
  return expiresAt - margin;
}

/**
 * Where a refresh may be booked: the refresh point and up to 5 % of the
 * lifetime (at most 60 s) before it, always earlier, so that tokens fetched
 * in the same second do not all refresh in the same second two hours later
 * (workers/refresh-calendar.ts picks the second).
 */
export function refreshWindow(expiresAt: number, expiresInSec: number): { earliest: number; latest: number } {
  const latest = refreshAt(expiresAt, expiresInSec);
  return { earliest: latest - Math.min(60_000, 0.05 * expiresInSec * 1000), latest };
}

/**
 * A stable_token is renewed by WeChat only once its remaining lifetime is
 * within min(300 s, 20 %): asked earlier, it returns the same token and we
 * would have to ask twice. So its refreshes spread a little *later* than the
 * refresh point (1 s to at most 10 s), never earlier.
 */
export function stableRefreshAt(expiresAt: number, expiresInSec: number, random: number = Math.random()): number {
  const spread = Math.min(10_000, 0.05 * expiresInSec * 1000);
  return (
    refreshAt(expiresAt, expiresInSec) + Math.min(1_000, spread) + Math.floor(random * Math.max(0, spread - 1_000))
  );
}

/** A store that rejects writes is retried sooner than WeChat: it usually comes back by itself (space freed, a lock let go). */
export const STORE_RETRY_CAP_MS = 30_000;

/**
 * The one back-off: delay before retry number `failures` (1-based), from
 * `firstMs` (1 s) doubling up to `capMs` (300 s). WeChat fetches, store
 * writes, notify retries, shard restarts and busy-lock retries all use it.
 */
export function backoffMs(failures: number, capMs: number = BACKOFF_CAP_MS, firstMs: number = FIRST_RETRY_MS): number {
  if (failures <= 1) return Math.min(capMs, firstMs);
  return Math.min(capMs, firstMs * 2 ** Math.min(failures - 1, 30));
}

/** A value is served only while it has not run out. */
export function isUsable(value: string | null, expiresAt: number | null, now: number): value is string {
  return value !== null && expiresAt !== null && expiresAt > now;
}

/**
 * Milliseconds on the process's monotonic clock: the same in every thread
 * of the process (process.hrtime, unlike performance.now, does not start
 * anew in each worker), and never moved by NTP or an operator.
 */
export function monoNow(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
