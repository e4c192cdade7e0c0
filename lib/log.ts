import { pino, Logger } from 'pino';

export type { Logger };

/** Field names whose value is never printed, at the top of a line or one level down. */
const SECRET_FIELDS = ['appsecret', 'secret', 'authorization'] as const;
const CENSOR = '[secret]';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A shallow copy; an Error keeps its class, message and stack (not enumerable, so a spread would drop them). */
function copyOf(o: Record<string, unknown>): Record<string, unknown> {
  return o instanceof Error
    ? (Object.create(Object.getPrototypeOf(o) as object, Object.getOwnPropertyDescriptors(o)) as Record<
        string,
        unknown
      >)
    : { ...o };
}

/** A copy of `o` with its secret fields censored, or `o` itself when it has none (the common case: no copy). */
function censored(o: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const k of SECRET_FIELDS) if (Object.hasOwn(o, k)) (out ??= copyOf(o))[k] = CENSOR;
  return out ?? o;
}

/**
 * A log line's fields with every secret field censored, at the top or one
 * level down (`appsecret`, `*.appsecret`, …). This is the second fence:
 * callers never hand an appsecret to the logger and mask token values.
 * Written out rather than pino's `redact`, whose wildcard paths cost more
 * than the rest of a registration's log line.
 */
export function fenceSecrets(fields: Record<string, unknown>): Record<string, unknown> {
  let out = censored(fields);
  for (const k in out) {
    const v = out[k];
    if (!isPlainObject(v)) continue;
    const inner = censored(v);
    if (inner === v) continue;
    if (out === fields) out = { ...fields };
    out[k] = inner;
  }
  return out;
}

/** Structured JSON lines on stdout; see fenceSecrets for what never appears in them. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { pid: process.pid, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }), log: fenceSecrets, bindings: fenceSecrets },
  });
}

/** A token value as it may appear in logs: enough to tell two apart, not to use. */
export function mask(value: string | undefined | null): string {
  if (!value) return '';
  if (value.length <= 8) return '***';
  return `${value.slice(0, 4)}***${value.slice(-2)}(${value.length})`;
}
