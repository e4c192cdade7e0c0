// The shape every simulated WeChat endpoint shares, so one router can count,
// fault-inject and answer all of them the same way.
import type { WeChatBody } from './errors.js';
import type { SimulatorState } from './state.js';

export const ENDPOINT_NAMES = [
  'token',
  'ticket',
  'oauth',
  'component',
  'authorizer',
  'stable',
  'query_auth',
  'authorizer_list',
  'start_push_ticket',
  'clear_quota',
] as const;
export type EndpointName = (typeof ENDPOINT_NAMES)[number];

export interface EndpointRequest {
  /** Query string, first value of each key. */
  query: Record<string, string>;
  /** Parsed JSON body of a POST (empty for GET). */
  body: Record<string, unknown>;
}

export interface Endpoint {
  name: EndpointName;
  method: 'GET' | 'POST';
  path: string;
  /** The appids a call concerns, for stats and fault matching (may be empty). */
  appids(req: EndpointRequest, sim: SimulatorState): string[];
  handle(req: EndpointRequest, sim: SimulatorState): WeChatBody;
}

/** A body field as WeChat reads it: strings as-is, numbers as text, else empty. */
export function field(obj: Record<string, unknown>, key: string): string {
  const v = obj[key];
  if (typeof v === 'string') return v;
  return typeof v === 'number' ? String(v) : '';
}
