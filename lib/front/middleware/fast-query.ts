import type { Next } from 'koa';
import { FrontContext } from '../context.js';
import { queryTask } from '../routes/tasks.js';
import { FrontServices } from '../services.js';

const TASK_PATH = /^\/task\/([^/]+)\/([^/]+)$/;

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/**
 * GET /task is the hot path (business systems may ask on every request):
 * answer it here, before the body parser and the router, from the
 * pre-serialised cache. Anything else falls through to the router.
 */
export function fastQuery(s: FrontServices) {
  return (ctx: FrontContext, next: Next) => {
    if (ctx.method !== 'GET') return next();
    const m = TASK_PATH.exec(ctx.path);
    if (!m) return next();
    const appid = decode(m[1]);
    const type = decode(m[2]);
    if (appid === null || type === null) return next();
    queryTask(ctx, s, appid, type);
  };
}
