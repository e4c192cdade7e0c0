import type { Next } from 'koa';
import { randomUUID } from 'node:crypto';
import { Logger } from '../../log.js';
import { FrontContext } from '../context.js';
import { Metrics } from '../metrics.js';

/** A client's X-Request-Id is echoed when it looks like one; otherwise we make one (also used by the fast path). */
export const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Route label without path parameters (the router's pattern), so the
 * metric's cardinality stays small whatever paths clients send.
 */
function routeLabel(ctx: FrontContext): string {
  const matched = (ctx as FrontContext & { _matchedRoute?: string | RegExp })._matchedRoute;
  return typeof matched === 'string' ? matched : 'unmatched';
}

/**
 * A request id on every answer (and in ctx.state for the routes' own log
 * lines), a counter per route and status, and a log line per request: info
 * for writes and failures, debug for successful reads. A route that has
 * something to add (e.g. the registered tasks) puts it in ctx.state.log
 * rather than writing a second line. Successful GET /task
 * never gets here: the fast path in front of Koa counts those itself.
 */
export function observe(log: Logger, metrics: Metrics) {
  return async (ctx: FrontContext, next: Next) => {
    const given = ctx.get('x-request-id');
    const id = given && REQUEST_ID.test(given) ? given : randomUUID();
    ctx.set('X-Request-Id', id);
    ctx.state.reqId = id;
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = routeLabel(ctx);
      metrics.http.inc({ route, status: String(ctx.status) });
      const quiet = ctx.method === 'GET' && ctx.status < 400;
      if (!quiet || log.isLevelEnabled('debug')) {
        const ms = Math.round((performance.now() - started) * 10) / 10;
        const said = ctx.state.log;
        log[quiet ? 'debug' : 'info']({ reqId: id, method: ctx.method, route, status: ctx.status, ms, ...said?.fields }, said?.msg ?? 'request');
      }
    }
  };
}
