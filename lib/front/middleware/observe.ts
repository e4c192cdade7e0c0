import type { Next } from 'koa';
import { requestId } from '../request-id.js';
import { Logger } from '../../log.js';
import { FrontContext, RequestNote } from '../context.js';
import { Metrics } from '../metrics.js';

/**
 * Route label without path parameters (the router's pattern), so the
 * metric's cardinality stays small whatever paths clients send.
 */
function routeLabel(ctx: FrontContext): string {
  const matched = (ctx as FrontContext & { _matchedRoute?: string | RegExp })._matchedRoute;
  return typeof matched === 'string' ? matched : 'unmatched';
}

/** What one request's line and counter say. */
export interface RequestOutcome {
  reqId: string;
  method: string;
  route: string;
  status: number;
  /** performance.now() when the request was taken up. */
  started: number;
  note?: RequestNote;
}

/**
 * The counter per route and status, and the log line of one request: info
 * for writes and failures, debug for successful reads. Shared by observe
 * and the fast registration path, so both count and say the same.
 */
export function requestLine(log: Logger, metrics: Metrics, o: RequestOutcome): void {
  metrics.http.inc({ route: o.route, status: String(o.status) });
  const quiet = o.method === 'GET' && o.status < 400;
  if (!quiet || log.isLevelEnabled('debug')) {
    const ms = Math.round((performance.now() - o.started) * 10) / 10;
    log[quiet ? 'debug' : 'info'](
      { reqId: o.reqId, method: o.method, route: o.route, status: o.status, ms, ...o.note?.fields },
      o.note?.msg ?? 'request',
    );
  }
}

/**
 * A request id on every answer (and in ctx.state for the routes' own log
 * lines) and the request's requestLine. A route that has something to add
 * (e.g. the registered tasks) puts it in ctx.state.log rather than writing
 * a second line. Successful GET /task and plain POST /registe never get
 * here: the fast paths in front of Koa count and log those themselves.
 */
export function observe(log: Logger, metrics: Metrics) {
  return async (ctx: FrontContext, next: Next) => {
    const id = requestId(ctx.req.headers['x-request-id']);
    ctx.set('X-Request-Id', id);
    ctx.state.reqId = id;
    const started = performance.now();
    try {
      await next();
    } finally {
      requestLine(log, metrics, {
        reqId: id,
        method: ctx.method,
        route: routeLabel(ctx),
        status: ctx.status,
        started,
        note: ctx.state.log,
      });
    }
  };
}
