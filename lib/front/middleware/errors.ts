import type { Next } from 'koa';
import { ApiError } from '../../contract/errors.js';
import { Logger } from '../../log.js';
import { redactUrlSecrets } from '../../wechat/scrub.js';
import { FrontContext } from '../context.js';
import { Envelope, envelope } from '../envelope.js';

/**
 * What the body parser (co-body / raw-body / inflation) raises, as our own
 * sentences. Their messages are never passed on: a JSON syntax error's
 * message quotes the body, and the body may hold an appsecret.
 */
function bodyError(err: { status?: number; type?: string; code?: string; message?: string }): ApiError | null {
  const type = err.type ?? '';
  const message = typeof err.message === 'string' ? err.message : '';
  if (type === 'entity.too.large' || err.status === 413)
    return new ApiError(413, 'too_large', 'The request body is larger than 1 MiB.');
  if (typeof err.code === 'string' && err.code.startsWith('Z_')) {
    return new ApiError(
      400,
      'bad_encoding',
      'The request body could not be decompressed: it does not match its Content-Encoding.',
    );
  }
  if (type === 'encoding.unsupported' || message.startsWith('Unsupported Content-Encoding')) {
    return new ApiError(
      415,
      'bad_encoding',
      'The Content-Encoding of the request body is not supported; send it uncompressed, or as gzip, deflate or br.',
    );
  }
  if (type === 'charset.unsupported') return new ApiError(415, 'bad_charset', 'The request body must be UTF-8 JSON.');
  if (type === 'request.aborted')
    return new ApiError(400, 'aborted', 'The request body ended before its Content-Length.');
  if (type === 'request.size.invalid')
    return new ApiError(400, 'bad_length', 'The request body does not match its Content-Length.');
  if (message.includes('only supports object and array'))
    return new ApiError(400, 'bad_body', 'The request body must be a JSON object.');
  if (message.includes('forbidden prototype property')) {
    return new ApiError(
      400,
      'bad_body',
      'The request body must not contain "__proto__" or "constructor.prototype" keys.',
    );
  }
  if (err.status === 400) return new ApiError(400, 'bad_json', 'The request body is not valid JSON.');
  if (err.status === 415)
    return new ApiError(415, 'not_json', 'The request body must be JSON (Content-Type: application/json).');
  return null;
}

/** SQLite's "database or disk is full" and the system's ENOSPC, wherever they were raised. */
export function isDiskFull(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e) return false;
  if (e.code === 'SQLITE_FULL' || e.code === 'ENOSPC') return true;
  return typeof e.message === 'string' && /database or disk is full|ENOSPC|no space left on device/i.test(e.message);
}

export const DISK_FULL_MESSAGE =
  'The data directory is full: nothing was stored. Free space on its disk and retry; values already fetched are still served.';

/** A 404 or 405 nobody answered: the router's verdict, in the envelope. */
function unanswered(ctx: FrontContext): void {
  if (ctx.status === 404) {
    ctx.body = envelope(404, `No route for ${ctx.method} ${ctx.path.slice(0, 200)}; see the API in the README.`, null);
    // Koa turns a response whose body is set without an explicit status into 200.
    ctx.status = 404;
  } else if (ctx.status === 405 || ctx.status === 501) {
    // The router says 501 for methods it does not know at all; to a client both mean "not this method".
    const allow = ctx.response.get('Allow');
    ctx.body = envelope(
      405,
      `Method ${ctx.method.slice(0, 20)} is not allowed here${allow ? `; use ${allow}` : ''}.`,
      null,
    );
    ctx.status = 405;
  }
}

/** An error's answer: status, extra headers and the envelope. */
export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: Envelope<null>;
}

/**
 * Turns any failure into the envelope of docs/api.md §2, with a sentence a user
 * can act on; only a truly unexpected error is a 500, and it is logged
 * without the request's body or headers. Used by errorEnvelope and by the
 * fast registration path, so both answer alike.
 */
export function errorAnswer(err: unknown, log: Logger, method: string, path: string): ErrorAnswer {
  const known =
    err instanceof ApiError
      ? err
      : isDiskFull(err)
        ? new ApiError(507, 'disk_full', DISK_FULL_MESSAGE)
        : bodyError(err as Record<string, never>);
  if (known) return { status: known.status, headers: known.headers, body: envelope(known.status, known.message, null) };
  const status = (err as { status?: number }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, headers: {}, body: envelope(status, `The request was refused (HTTP ${status}).`, null) };
  }
  // Our own code's message (never a body-quoting parser error: those were answered above).
  // A URL in the message may carry a credential in its query: masked before the cut.
  log.error(
    {
      err: redactUrlSecrets(String((err as Error).message)).slice(0, 300),
      name: (err as Error).name,
      method,
      path: redactUrlSecrets(path).slice(0, 200),
    },
    'unexpected error',
  );
  return { status: 500, headers: {}, body: envelope(500, 'Internal error; the server log has the details.', null) };
}

/** The Koa middleware: every failure below it becomes its errorAnswer. */
export function errorEnvelope(log: Logger) {
  return async (ctx: FrontContext, next: Next) => {
    try {
      await next();
      if (ctx.body === undefined || ctx.body === null) unanswered(ctx);
    } catch (err) {
      const a = errorAnswer(err, log, ctx.method, ctx.path);
      ctx.status = a.status;
      ctx.set(a.headers);
      ctx.body = a.body;
    }
  };
}
