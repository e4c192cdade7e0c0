/**
 * Fields of WeChat's answers whose edges have broken us: read once here,
 * so that nothing odd is stored (a date from expires_in 1e300 broke every
 * /apps page and survived restarts; expires_in 0.001 drove a fetch loop).
 */

/** Shortest lifetime taken: below a second the refresh would spin. */
export const MIN_EXPIRES_IN = 1;
/** Longest lifetime taken: WeChat's are hours; 30 days is far past any. */
export const MAX_EXPIRES_IN = 30 * 86_400;

export type ExpiresIn = { ok: true; seconds: number } | { ok: false; message: string };

/** A whole number of seconds from 1 s to 30 days, as a JSON number or a string of digits; nothing else. */
export function checkedExpiresIn(v: unknown): ExpiresIn {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d{1,12}\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < MIN_EXPIRES_IN || n > MAX_EXPIRES_IN) {
    const shown = v === undefined ? 'nothing' : (JSON.stringify(v)?.slice(0, 40) ?? String(v));
    return {
      ok: false,
      message: `WeChat answered expires_in ${shown}, not a whole number of seconds from ${MIN_EXPIRES_IN} to ${MAX_EXPIRES_IN} (30 days); the value was not stored`,
    };
  }
  return { ok: true, seconds: n };
}

/**
 * WeChat's errcode: 0 (or absent) is success; a number or a string of one is
 * that code ("40001" is still 40001); anything else present is an error
 * whose code is unknown (null).
 */
export function errcodeOf(v: unknown): number | null {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && /^\s*-?\d{1,10}\s*$/.test(v)) return Number(v);
  return null;
}
