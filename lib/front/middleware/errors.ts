import type { Next } from 'koa';
import { ApiError } from '../../contract/errors.js';
import { Logger } from '../../log.js';
import { FrontContext } from '../context.js';
import { envelope } from '../envelope.js';

/** Status codes we pass through from Koa and its body parser, with our own sentence. */
const KNOWN: Record<number, string> = {
  400: 'The request body is not valid JSON.',
  413: 'The request body is larger than 1 MiB.',
  415: 'The request body must be JSON (Content-Type: application/json).',
};

/** Turns every failure into the envelope of API.md §2; an unexpected one is a logged 500. */
export function errorEnvelope(log: Logger) {
  return async (ctx: FrontContext, next: Next) => {
    try {
      await next();
      if (ctx.body === undefined || ctx.body === null) {
        if (ctx.status === 404) ctx.body = envelope(404, `No route for ${ctx.method} ${ctx.path.slice(0, 200)}.`, null);
        else if (ctx.status === 405 || ctx.status === 501) {
          // The router says 501 for methods it does not know at all; to a client both mean "not this method".
          ctx.status = 405;
          ctx.body = envelope(405, `Method ${ctx.method.slice(0, 20)} is not allowed here${ctx.response.get('Allow') ? `; use ${ctx.response.get('Allow')}` : ''}.`, null);
        }
      }
    } catch (err) {
      if (err instanceof ApiError) {
        ctx.status = err.status;
        ctx.set(err.headers);
        ctx.body = envelope(err.status, err.message, null);
        return;
      }
      const status = (err as { status?: number; expose?: boolean }).status;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        ctx.status = status;
        ctx.body = envelope(status, KNOWN[status] ?? (err as Error).message, null);
        return;
      }
      log.error({ err: (err as Error).message, method: ctx.method, path: ctx.path.slice(0, 200) }, 'unexpected error');
      ctx.status = 500;
      ctx.body = envelope(500, 'Internal error; the server log has the details.', null);
    }
  };
}
