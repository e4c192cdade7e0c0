// stable_token force_refresh limits: WeChat allows 20 forced refreshes per
// appid per day, at least 30 seconds apart (both configurable for tests).
import { ERR, type WeChatError } from './errors.js';

const DAY_MS = 86_400_000;
/** WeChat's quota day is the calendar day in Beijing time (UTC+8). */
const BEIJING_OFFSET_MS = 8 * 3600_000;

interface Usage {
  day: number;
  count: number;
  last: number;
}

export class ForceRefreshQuota {
  private readonly usage = new Map<string, Usage>();

  /** The error a force_refresh would get now, or null when it is allowed. */
  check(appid: string, now: number, dailyLimit: number, intervalSeconds: number): WeChatError | null {
    const u = this.usage.get(appid);
    if (!u) return dailyLimit > 0 ? null : ERR.dailyQuota;
    const count = u.day === dayOf(now) ? u.count : 0;
    if (count >= dailyLimit) return ERR.dailyQuota;
    return now - u.last < intervalSeconds * 1000 ? ERR.minuteQuota : null;
  }

  /** Records a successful forced refresh. */
  record(appid: string, now: number): void {
    const u = this.usage.get(appid);
    const day = dayOf(now);
    const count = u && u.day === day ? u.count + 1 : 1;
    this.usage.set(appid, { day, count, last: now });
  }

  clear(): void {
    this.usage.clear();
  }
}

function dayOf(ms: number): number {
  return Math.floor((ms + BEIJING_OFFSET_MS) / DAY_MS);
}
