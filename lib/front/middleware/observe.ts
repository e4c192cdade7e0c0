import type { Next } from 'koa';
import { randomUUID } from 'node:crypto';
import { Logger } from '../../log.js';
import { FrontContext } from '../context.js';
import { Metrics } from '../metrics.js';

/** A client's X-Request-Id is echoed when it looks like one; otherwise we make one (also used by the fast path). */
export const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Route label without path parameters, so the metric's cardinality stays small. */
function routeLabel(ctx: FrontContext): string {
  const matched = (ctx as FrontContext & { _matchedRoute?: string })._matchedRoute;
  if (typeof matched === 'string') return matched;
  return ctx.path.startsWith('/task/') ? '/task/:appid/:type' : 'unmatched';
}

/**
 * A request id on every answer, a counter per route and status, and a log
 * line for every write and every failure (queries succeed too often to log).
 */
export function observe(log: Logger, metrics: Metrics) {
  return async (ctx: FrontContext, next: Next) => {
    const given = ctx.get('x-request-id');
    const id = given && REQUEST_ID.test(given) ? given : randomUUID();
    ctx.set('X-Request-Id', id);
    const started = performance.now();
    try {
      await next();
    } finally {
      metrics.http.inc({ route: routeLabel(ctx), status: String(ctx.status) });
      if (ctx.method !== 'GET' || ctx.status >= 400) {
        const ms = Math.round((performance.now() - started) * 10) / 10;
        log.info({ reqId: id, method: ctx.method, route: routeLabel(ctx), status: ctx.status, ms }, 'request');
      }
    }
  };
}
