// clear_quota budgets: resets used per appid in the current calendar month.

export class QuotaResets {
  private readonly used = new Map<string, { month: number; count: number }>();

  /** Counts one reset when `limit` allows it this month; false when they are used up. */
  take(appid: string, now: number, limit: number): boolean {
    const d = new Date(now);
    const month = d.getUTCFullYear() * 12 + d.getUTCMonth();
    const entry = this.used.get(appid);
    const count = entry && entry.month === month ? entry.count : 0;
    if (count >= limit) return false;
    this.used.set(appid, { month, count: count + 1 });
    return true;
  }

  clear(): void {
    this.used.clear();
  }
}
