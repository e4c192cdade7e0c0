import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { isValidAppid } from '../../contract/registration.js';
import { TaskType } from '../../contract/task-type.js';
import { Authenticator } from '../auth.js';
import { FrontServices } from '../front-services.js';
import { Selector, TaskCache } from '../task-cache.js';
import { detailBody, detailWanted } from '../task-detail.js';
import { requestId } from '../request-id.js';

const TASK_URL = /^\/task\/([^/?]+)\/([0-5])(?:\?(.*))?$/;
const CONTENT_TYPE = 'application/json; charset=utf-8';

/** The selector and detail flag of a query string, or null when it is not plainly one (the router then answers). */
function queryOf(query: string | undefined): { sel: Selector; detail: boolean } | null {
  if (query === undefined || query === '') return { sel: {}, detail: false };
  const q = parseQuery(query);
  const pick = (v: string | string[] | undefined) =>
    v === undefined ? undefined : typeof v === 'string' && v.length <= 128 ? v : null;
  const authorizer_appid = pick(q.authorizer_appid);
  const openid = pick(q.openid);
  const detail = detailWanted(q.detail);
  if (authorizer_appid === null || openid === null || detail === null) return null;
  return { sel: { authorizer_appid, openid }, detail };
}

function decodeAppid(raw: string): string | null {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/**
 * GET /task is the hot path (business systems may ask on every request), so
 * it is answered here, in front of Koa: a successful query never builds a
 * Koa context, walks the middleware chain or re-serialises anything — it
 * answers the pre-serialised Buffer from the task cache. The answer is the
 * one the Koa chain would give (request id, drain signal, auth and scope,
 * metrics, headers). Whenever the answer would not be a plain 200 (no or
 * bad token, protected mode, out of scope, unknown task, no value yet, an
 * odd URL), the request goes to Koa untouched, which answers as before.
 * bench/query.ts measures what this buys (bench/results/2026-11-24.md).
 */
export function fastQuery(s: FrontServices, auth: Authenticator, koa: RequestListener): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' || auth.protectedMode) return koa(req, res);
    const m = TASK_URL.exec(req.url ?? '');
    if (!m?.[1]) return koa(req, res);
    const appid = decodeAppid(m[1]);
    const query = queryOf(m[3]);
    if (appid === null || query === null || !isValidAppid(appid)) return koa(req, res);
    const outcome = auth.check(req.headers.authorization, req.socket.remoteAddress);
    const rule = outcome.rule;
    if (!outcome.ok || (rule?.appids && !rule.appids.includes(appid))) return koa(req, res);
    let body: Buffer;
    try {
      // find() may read through to the store during a reload hand-over; a failure there is Koa's to answer (500).
      const found = s.cache.find(appid, Number(m[2]) as TaskType, query.sel);
      if (!found.ok) return koa(req, res);
      const answer = TaskCache.servable(found.task, Date.now());
      if (!answer.ok) return koa(req, res);
      body = query.detail ? detailBody(found.task) : answer.body;
    } catch {
      return koa(req, res);
    }
    const id = requestId(req.headers['x-request-id']);
    const headers: Record<string, string | number> = {
      'X-Request-Id': id,
      'Content-Type': CONTENT_TYPE,
      'Content-Length': body.length,
    };
    res.writeHead(200, headers);
    res.end(body);
    s.metrics.fastQueryServed();
  };
}
