import Router from '@koa/router';
import { badRequest, notFound } from '../../contract/errors.js';
import { TASK_NAMES, TaskType } from '../../contract/task-type.js';
import { firstAfter, SortedAppids } from '../app-index.js';
import { checkScope } from '../auth.js';
import { FrontContext, FrontState } from '../context.js';
import { envelope } from '../envelope.js';
import { FrontServices } from '../services.js';
import { CachedTask } from '../task-cache.js';
import { pathAppid } from './params.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * A task's status as /apps shows it. Built field by field from the cache,
 * which holds no secrets; the value itself is deliberately left out.
 */
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

/** An app's tasks in a stable order: by type, then authorizer_appid / openid. */
function tasksView(s: FrontServices, appid: string) {
  return s.cache
    .tasksOf(appid)
    .sort((a, b) => a.type - b.type || (a.sub < b.sub ? -1 : a.sub > b.sub ? 1 : 0))
    .map(taskView);
}

function intQuery(v: unknown, name: string, def: number, max: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'string' || !/^\d{1,7}$/.test(v) || Number(v) < 1 || Number(v) > max) throw badRequest('bad_query', `${name} must be an integer from 1 to ${max}.`);
  return Number(v);
}

function afterQuery(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v !== 'string' || v.length > 128) throw badRequest('bad_query', 'after must be given once: the "next" appid of the previous page.');
  return v;
}

/** The appids a request may see, sorted: a scoped token sees only its own. */
function visibleAppids(ctx: FrontContext, s: FrontServices, index: SortedAppids): readonly string[] {
  const scope = ctx.state.token?.appids;
  if (!scope) return index.all();
  return scope.filter((a) => s.cache.hasApp(a)).sort();
}

/** GET /apps (paged by appid: ?limit=1..1000&after=<next of the previous page>) and GET /apps/:appid. */
export function statusRoutes(router: Router<FrontState>, s: FrontServices): void {
  const index = new SortedAppids(s.cache);

  router.get('/apps', (ctx) => {
    const limit = intQuery(ctx.query.limit, 'limit', 100, 1000);
    const after = afterQuery(ctx.query.after);
    const visible = visibleAppids(ctx, s, index);
    const start = after ? firstAfter(visible, after) : 0;
    const page = visible.slice(start, start + limit);
    const next = start + limit < visible.length ? page[page.length - 1] : null;
    ctx.body = envelope(200, '', {
      total: visible.length,
      next,
      apps: page.map((appid) => ({ appid, tasks: tasksView(s, appid) })),
    });
  });

  router.get('/apps/:appid', (ctx) => {
    const appid = pathAppid(ctx.params.appid);
    checkScope(ctx.state.token, appid, false);
    if (!s.cache.hasApp(appid)) throw notFound('unknown_app', `App ${appid} is not registered.`);
    ctx.body = envelope(200, '', { appid, tasks: tasksView(s, appid) });
  });
}
