import Router from '@koa/router';
import { badRequest, notFound } from '../../contract/errors.js';
import { TASK_NAMES, TaskType } from '../../contract/task-type.js';
import { canSee, checkScope } from '../auth.js';
import { FrontState } from '../context.js';
import { envelope } from '../envelope.js';
import { FrontServices } from '../services.js';
import { CachedTask } from '../task-cache.js';
import { pathAppid } from './params.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A task's status as /apps shows it: never a secret, never a value. */
function taskView(t: CachedTask) {
  return {
    type: t.type,
    name: TASK_NAMES[t.type],
    authorizer_appid: t.type === TaskType.AuthorizerToken ? t.authorizerAppid ?? (t.sub || null) : null,
    openid: t.type === TaskType.OAuthToken ? t.sub || null : null,
    state: t.state,
    expires_at: iso(t.expiresAt),
    refreshed_at: iso(t.refreshedAt),
    next_refresh_at: iso(t.nextRefreshAt),
    last_error: t.lastError,
    fetch_count: t.fetchCount,
    fail_count: t.failCount,
  };
}

function intQuery(v: unknown, name: string, def: number, max: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'string' || !/^\d{1,7}$/.test(v) || Number(v) < 1 || Number(v) > max) throw badRequest('bad_query', `${name} must be an integer from 1 to ${max}.`);
  return Number(v);
}

/** GET /apps (paginated by appid: ?limit=&after=) and GET /apps/:appid. */
export function statusRoutes(router: Router<FrontState>, s: FrontServices): void {
  router.get('/apps', (ctx) => {
    const limit = intQuery(ctx.query.limit, 'limit', 100, 1000);
    const after = typeof ctx.query.after === 'string' ? ctx.query.after : '';
    const visible = s.cache.appids().filter((a) => canSee(ctx.state.token, a)).sort();
    const start = after ? visible.findIndex((a) => a > after) : 0;
    const page = start < 0 ? [] : visible.slice(start, start + limit);
    const next = start >= 0 && start + limit < visible.length ? page[page.length - 1] : null;
    ctx.body = envelope(200, '', {
      total: visible.length,
      next,
      apps: page.map((appid) => ({ appid, tasks: s.cache.tasksOf(appid).map(taskView) })),
    });
  });

  router.get('/apps/:appid', (ctx) => {
    const appid = pathAppid(ctx.params.appid);
    checkScope(ctx.state.token, appid, false);
    if (!s.cache.hasApp(appid)) throw notFound('unknown_app', `App ${appid} is not registered.`);
    ctx.body = envelope(200, '', { appid, tasks: s.cache.tasksOf(appid).map(taskView) });
  });
}
