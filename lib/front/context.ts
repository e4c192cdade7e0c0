import type { ParameterizedContext } from 'koa';
import type { ApiTokenRule } from '../config.js';

/** What a route wants said in the one log line of its request: message and extra fields. */
export interface RequestNote {
  msg: string;
  fields: Record<string, unknown>;
}

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
  log?: RequestNote;
}

export type FrontContext = ParameterizedContext<FrontState>;
