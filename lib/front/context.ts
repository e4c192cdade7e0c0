import type { ParameterizedContext } from 'koa';
import type { ApiTokenRule } from '../config.js';

/** What the middleware chain adds to Koa's state. */
export interface FrontState {
  /** The token rule that authenticated the request; undefined in protected (loopback) mode. */
  token?: ApiTokenRule;
  /** X-Request-Id of this request (the client's when it sent a sane one), for log lines. */
  reqId?: string;
  /**
   * What a route wants said about the request: merged into observe's one
   * log line per request (message and fields) instead of a line of its own.
   */
  log?: { msg: string; fields: Record<string, unknown> };
}

export type FrontContext = ParameterizedContext<FrontState>;
