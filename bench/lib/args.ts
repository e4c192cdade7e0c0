// `--name value` / `--name=value` flags for the bench scripts, with defaults.
import { at } from '../../test/helpers/must.js';
export function flags<T extends Record<string, string | number>>(defaults: T, argv = process.argv.slice(2)): T {
  const out: Record<string, string | number> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = at(argv, i, 'argument');
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${arg}`);
    const name = at(m, 1, 'flag name');
    const key = name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
    const fallback = defaults[key];
    if (fallback === undefined) throw new Error(`unknown flag --${name}; known: ${Object.keys(defaults).join(', ')}`);
    const raw = m[2] ?? argv[++i];
    if (raw === undefined) throw new Error(`--${name} needs a value`);
    const value = typeof fallback === 'number' ? Number(raw) : raw;
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`--${name} needs a number`);
    out[key] = value;
  }
  return out as T;
}

/** The median, NaN for no values (printed as '-'). */
export const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? at(s, mid) : (at(s, mid - 1) + at(s, mid)) / 2;
};

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return at(s, Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1)));
}

/** A plain-text table with right-aligned numeric columns. */
export function table(head: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i] ?? 0) : c.padStart(w[i] ?? 0))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...cells.map(line)].join('\n');
}

export const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
