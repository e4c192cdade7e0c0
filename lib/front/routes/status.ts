import Router from '@koa/router';
import { badRequest, notFound } from '../../contract/errors.js';
import { TASK_NAMES, TaskType } from '../../contract/task-type.js';
import { AppIndex, AppPage, AppQuery, pageOf, TASK_STATES, Totals } from '../app-index.js';
import { checkScope } from '../auth.js';
import { FrontContext, FrontState } from '../context.js';
import { envelope } from '../envelope.js';
import { FrontServices } from '../front-services.js';
import { CachedTask } from '../task-cache.js';
import { TaskState } from '../../store/rows.js';
import { pathAppid } from './route-params.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * A task's status as /apps shows it. Built field by field from the cache,
 * which holds no secrets; the value itself is deliberately left out.
 */
function taskView(t: CachedTask, owner: string | null | undefined) {
  return {
    type: t.type,
    name: TASK_NAMES[t.type],
    authorizer_appid: t.type === TaskType.AuthorizerToken ? (t.authorizerAppid ?? (t.sub || null)) : null,
    openid: t.type === TaskType.OAuthToken ? t.sub || null : null,
    state: t.state,
    expires_at: iso(t.expiresAt),
    refreshed_at: iso(t.refreshedAt),
    next_refresh_at: iso(t.nextRefreshAt),
    last_error: t.lastError,
    fetch_count: t.fetchCount,
    fail_count: t.failCount,
    ...(owner === undefined ? {} : { owner }),
  };
}

/** An app's tasks in a stable order: by type, then authorizer_appid / openid. */
function tasksView(s: FrontServices, appid: string) {
  // An app's tasks live in one slot, so they share their owner.
  const owner = s.cluster?.ownerOf(appid);
  return s.cache
    .tasksOf(appid)
    .sort((a, b) => a.type - b.type || (a.sub < b.sub ? -1 : a.sub > b.sub ? 1 : 0))
    .map((t) => taskView(t, owner));
}

function intQuery(v: unknown, name: string, def: number, max: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'string' || !/^\d{1,7}$/.test(v) || Number(v) < 1 || Number(v) > max)
    throw badRequest('bad_query', `${name} must be an integer from 1 to ${max}.`);
  return Number(v);
}

function afterQuery(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v !== 'string' || v.length > 128)
    throw badRequest('bad_query', 'after must be given once: the "next" appid of the previous page.');
  return v;
}

function prefixQuery(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v !== 'string' || !/^[A-Za-z0-9_-]{0,64}$/.test(v))
    throw badRequest('bad_query', 'prefix must be given once, up to 64 characters of A-Z, a-z, 0-9, _ or -.');
  return v;
}

function stateQuery(v: unknown): TaskState | null {
  if (v === undefined || v === '') return null;
  const state = TASK_STATES.find((s) => s === v);
  if (!state) throw badRequest('bad_query', `state must be given once, one of ${TASK_STATES.join(', ')}.`);
  return state;
}

/** The ?limit, ?after, ?prefix and ?state of GET /apps, checked. */
export function appQuery(ctx: FrontContext): AppQuery {
  return {
    limit: intQuery(ctx.query.limit, 'limit', 100, 1000),
    after: afterQuery(ctx.query.after),
    prefix: prefixQuery(ctx.query.prefix),
    state: stateQuery(ctx.query.state),
  };
}

/**
 * A scoped token sees only its own apps: few, so they are filtered here
 * rather than indexed. Unscoped requests are answered from the index.
 */
function scopedPage(scope: readonly string[], s: FrontServices, q: AppQuery): AppPage {
  const mine = scope
    .filter((a) => s.cache.hasApp(a) && (!q.state || s.cache.tasksOf(a).some((t) => t.state === q.state)))
    .sort();
  return pageOf(mine, q);
}

/** The console's totals over the apps a token may see. */
export function scopedTotals(scope: readonly string[], s: FrontServices): Totals {
  const totals: Totals = { apps: 0, tasks: { pending: 0, ready: 0, failing: 0 }, fetch_count: 0, fail_count: 0 };
  for (const a of new Set(scope)) {
    const tasks = s.cache.tasksOf(a);
    if (tasks.length > 0) totals.apps++;
    for (const t of tasks) {
      totals.tasks[t.state]++;
      totals.fetch_count += t.fetchCount;
      totals.fail_count += t.failCount;
    }
  }
  return totals;
}

/**
 * GET /apps (paged by appid: ?limit=1..1000&after=<next of the previous
 * page>, narrowed by ?prefix=<appid prefix> and ?state=<a task state>)
 * and GET /apps/:appid.
 */
export function statusRoutes(router: Router<FrontState>, s: FrontServices, index: AppIndex): void {
  router.get('/apps', (ctx) => {
    const q = appQuery(ctx);
    const scope = ctx.state.token?.appids;
    const page = scope ? scopedPage(scope, s, q) : index.page(q);
    ctx.body = envelope(200, '', {
      total: page.total,
      next: page.next,
      apps: page.appids.map((appid) => ({ appid, tasks: tasksView(s, appid) })),
    });
  });

  router.get('/cluster', (ctx) => {
    const c = s.cluster;
    if (!c)
      throw notFound(
        'not_cluster',
        'No route for GET /cluster: this server runs alone (--store sqlite); it answers in cluster mode (--store redis://…).',
      );
    ctx.body = envelope(200, '', { instances: c.instances(), self: c.self });
  });

  router.get('/apps/:appid', (ctx) => {
    const appid = pathAppid(ctx.params.appid);
    checkScope(ctx.state.token, appid, false);
    if (!s.cache.hasApp(appid)) throw notFound('unknown_app', `App ${appid} is not registered.`);
    ctx.body = envelope(200, '', { appid, tasks: tasksView(s, appid) });
  });
}
