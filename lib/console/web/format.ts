// Times and WeChat errors, as the table shows them.
import { t } from './i18n.js';

/** 1 h 02 m, 4 m 05 s, 7 s (1 小时 02 分 …). */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h} ${t('unitH')} ${two(m)} ${t('unitM')}`;
  if (m > 0) return `${m} ${t('unitM')} ${two(sec)} ${t('unitS')}`;
  return `${sec} ${t('unitS')}`;
}

/** "in 4 m 05 s" / "7 s ago" relative to `now`. */
export function relative(at: number, now: number): string {
  const d = at - now;
  if (Math.abs(d) < 1000) return t('now');
  return d > 0 ? t('inTime', duration(d)) : t('agoTime', duration(-d));
}

export function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString();
}

/** A last_error split into WeChat's errcode (when it names one) and the rest of the sentence. */
export function splitError(e: string): { errcode: string | null; text: string } {
  const m = /^WeChat errcode (-?\d+): ([\s\S]*)$/.exec(e);
  return m ? { errcode: m[1] ?? null, text: m[2] ?? '' } : { errcode: null, text: e };
}
