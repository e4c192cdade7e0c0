import { TaskType } from '../contract/task-type.js';

/** How a failed fetch is handled (docs/api.md §3). */
export type ErrorClass = 'transient' | 'dependency' | 'configuration' | 'ticket' | 'refresh_token';

const CONFIGURATION = new Set([40125, 40002, 40013, 40164, 61004, 40243, 48001, 50002, 45009]);
const DEPENDENCY = new Set([40001, 40014, 42001]);
const TICKET = new Set([61005, 61006]);
const REFRESH_TOKEN = new Set([40030, 42002, 61023]);

export function classifyErrcode(type: TaskType, errcode: number): ErrorClass {
  if (REFRESH_TOKEN.has(errcode)) return 'refresh_token';
  if (TICKET.has(errcode)) return 'ticket';
  if (DEPENDENCY.has(errcode)) {
    // getticket and api_authorizer_token take another credential: it was rejected.
    if (type === TaskType.JsapiTicket || type === TaskType.CardTicket || type === TaskType.AuthorizerToken)
      return 'dependency';
    // From cgi-bin/token (and the other secret-based calls) 40001 means a wrong secret.
    if (errcode === 40001) return 'configuration';
    return 'transient';
  }
  if (CONFIGURATION.has(errcode)) return 'configuration';
  // -1 (system busy), 45011 (rate limit) and anything unknown: try again later.
  return 'transient';
}
