/**
 * WeChat's budget for stable_token `force_refresh: true`: 20 calls per
 * appid per (Beijing) day, at least 30 s apart (both configurable, so the
 * simulator can make them testable). The budget lives with the one actor
 * that owns the appid's type 0 task; WeChat's own 45009 / 45011 answers
 * correct it when it was lost (a restart or reload starts it afresh).
 */

const DAY_MS = 86_400_000;
/** WeChat's quota day is the calendar day in Beijing time (UTC+8). */
const BEIJING_OFFSET_MS = 8 * 3_600_000;

export const beijingDay = (ms: number): number => Math.floor((ms + BEIJING_OFFSET_MS) / DAY_MS);

export interface ForceLimits {
  dailyLimit: number;
  intervalSeconds: number;
}

export class StableForceBudget {
  private day = -1;
  private used = 0;
  private lastAt = 0;
  /** Set when WeChat said 45009: no forced call until the next Beijing day. */
  private exhaustedDay = -1;

  /** Why a forced call may not be made now, or null when it may. */
  refusal(now: number, limits: ForceLimits): string | null {
    const day = beijingDay(now);
    const used = this.day === day ? this.used : 0;
    if (this.exhaustedDay === day || used >= limits.dailyLimit) {
      return `stable_token force_refresh budget used up for today (${limits.dailyLimit} a day)`;
    }
    const waitMs = this.lastAt + limits.intervalSeconds * 1000 - now;
    if (waitMs > 0)
      return `stable_token force_refresh allowed again in ${Math.ceil(waitMs / 1000)} s (${limits.intervalSeconds} s apart)`;
    return null;
  }

  /** Counted before the call: WeChat may count a forced call whose answer we never see. */
  spend(now: number): void {
    const day = beijingDay(now);
    this.used = this.day === day ? this.used + 1 : 1;
    this.day = day;
    this.lastAt = now;
  }

  /** WeChat refused a forced call: 45009 ends today's budget, 45011 restarts the interval. */
  refusedByWechat(now: number, errcode: number): void {
    if (errcode === 45009) this.exhaustedDay = beijingDay(now);
    this.lastAt = Math.max(this.lastAt, now);
  }
}
