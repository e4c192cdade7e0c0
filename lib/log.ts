import { pino, Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON lines on stdout. Callers pass token values through
 * `mask()`; appsecrets are never handed to the logger at all. The redact
 * paths are a second fence for fields that must never be printed whole.
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { pid: process.pid, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['appsecret', '*.appsecret', 'secret', '*.secret', 'authorization', '*.authorization'],
      censor: '[secret]',
    },
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** A token value as it may appear in logs: enough to tell two apart, not to use. */
export function mask(value: string | undefined | null): string {
  if (!value) return '';
  if (value.length <= 8) return '***';
  return `${value.slice(0, 4)}***${value.slice(-2)}(${value.length})`;
}
