import type { ParameterizedContext } from 'koa';
import type { ApiTokenRule } from '../config.js';

/** What the middleware chain adds to Koa's state. */
export interface FrontState {
  /** The token rule that authenticated the request; undefined in protected (loopback) mode. */
  token?: ApiTokenRule;
  /** X-Request-Id of this request (the client's when it sent a sane one), for log lines. */
  reqId?: string;
}

export type FrontContext = ParameterizedContext<FrontState>;
