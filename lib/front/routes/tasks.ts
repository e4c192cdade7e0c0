import Router from '@koa/router';
import { ApiError, badRequest, notFound } from '../../contract/errors.js';
import { DISK_FULL_MESSAGE, isDiskFull } from '../middleware/errors.js';
import { RefreshOutcome, ShardCommand, TaskUpdate } from '../../contract/messages.js';
import { TaskKey, TaskType, TASK_NAMES } from '../../contract/task-type.js';
import { ownerError } from '../owner-error.js';
import { checkScope } from '../auth.js';
import { FrontContext, FrontState } from '../context.js';
import { envelope } from '../envelope.js';
import { FrontServices } from '../front-services.js';
import { cachedTask, CachedTask, TaskCache } from '../task-cache.js';
import { badDetail, detailBody, detailWanted } from '../task-detail.js';
import { pathAppid, pathType, selector } from './route-params.js';

/** A stale value longer than any WeChat credential is not one we handed out. */
const MAX_STALE = 4096;

function findTask(ctx: FrontContext, s: FrontServices, writes: boolean) {
  const appid = pathAppid(ctx.params.appid);
  const type = pathType(ctx.params.type);
  checkScope(ctx.state.token, appid, writes);
  const found = s.cache.find(appid, type, selector(ctx));
  if (!found.ok) throw found.error;
  return found.task;
}

/** `?detail=1`: answer {value, expires_at, refreshed_at} instead of the value alone. */
function detailOf(ctx: FrontContext): boolean {
  const wanted = detailWanted(ctx.query.detail);
  if (wanted === null) throw badDetail();
  return wanted;
}

function serve(ctx: FrontContext, task: CachedTask, detail: boolean): void {
  const answer = TaskCache.servable(task, Date.now());
  if (!answer.ok) throw answer.error;
  ctx.type = 'application/json';
  ctx.body = detail ? detailBody(task) : answer.body;
}

/** The optional `{"stale": "<value that failed>"}` body of a passive refresh. */
function staleOf(ctx: FrontContext): string | undefined {
  const hasBody = ctx.req.headers['transfer-encoding'] !== undefined || Number(ctx.get('content-length') || 0) > 0;
  if (!hasBody) return undefined;
  if (!ctx.is('application/json'))
    throw new ApiError(
      415,
      'not_json',
      'The request body must be JSON (Content-Type: application/json), e.g. {"stale": "<value that failed>"}.',
    );
  const body: unknown = ctx.request.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('bad_body', 'The body must be a JSON object, e.g. {"stale": "<value that failed>"}, or empty.');
  }
  const stale = (body as Record<string, unknown>).stale;
  if (stale === undefined) return undefined;
  if (typeof stale !== 'string' || stale === '' || stale.length > MAX_STALE) {
    throw badRequest(
      'bad_stale',
      `stale must be the value that failed, a non-empty string of at most ${MAX_STALE} characters; leave it out to refresh without one.`,
    );
  }
  return stale;
}

/** Header values are ASCII; the note is for people, so anything else is dropped. */
const headerText = (s: string) => s.replace(/[^\x20-\x7e]/g, '').slice(0, 300);

/** Apply a refresh answer to the cache unless a newer value got there first (events and answers race). */
function remember(s: FrontServices, u: TaskUpdate): void {
  const sel =
    u.type === TaskType.AuthorizerToken
      ? { authorizer_appid: u.sub || undefined }
      : u.type === TaskType.OAuthToken
        ? { openid: u.sub || undefined }
        : {};
  const cached = s.cache.find(u.appid, u.type, sel);
  if (cached.ok && cached.task.sub === u.sub && (cached.task.refreshedAt ?? 0) > (u.refreshedAt ?? 0)) return;
  s.cache.apply(u);
}

/**
 * The answer to a passive refresh: like GET /task with the value now
 * current, plus X-Scheduler-Refresh saying whether WeChat was asked. A
 * fetch that failed is a 503 naming WeChat's error: handing back the value
 * the caller just saw fail would only start the next failed call.
 */
function answerRefresh(ctx: FrontContext, u: TaskUpdate, outcome: RefreshOutcome, detail: boolean): void {
  ctx.set('X-Scheduler-Refresh', outcome.result);
  if (outcome.note) ctx.set('X-Scheduler-Refresh-Note', headerText(outcome.note));
  if (outcome.result === 'failed') {
    // The owner fetched a value but the full disk would not take it: nothing was stored.
    if (isDiskFull({ message: outcome.note })) throw new ApiError(507, 'disk_full', DISK_FULL_MESSAGE);
    const retry = u.nextRefreshAt ? Math.ceil((u.nextRefreshAt - Date.now()) / 1000) : 1;
    throw new ApiError(
      503,
      'refresh_failed',
      `Refreshing task ${u.type} (${TASK_NAMES[u.type]}) of app ${u.appid} failed: ${outcome.note ?? u.lastError ?? 'unknown error'}.`,
      {
        'Retry-After': String(Math.min(300, Math.max(1, retry))),
      },
    );
  }
  serve(ctx, cachedTask(u), detail);
}

/** GET /task, POST /task/…/refresh, DELETE /task, DELETE /app. */
export function taskRoutes(router: Router<FrontState>, s: FrontServices): void {
  // What the fast path (listeners/get-task.ts) does not answer itself: errors, 503s, odd URLs.
  router.get('/task/:appid/:type', (ctx) => {
    const task = findTask(ctx, s, false);
    serve(ctx, task, detailOf(ctx));
  });

  router.post('/task/:appid/:type/refresh', async (ctx) => {
    const task = findTask(ctx, s, true);
    const detail = detailOf(ctx);
    const stale = staleOf(ctx);
    const key: TaskKey = { appid: task.appid, type: task.type, sub: task.sub };
    const reply = await s.owner.send(task.appid, { kind: 'refresh', key, stale, reqId: ctx.state.reqId });
    if (reply.kind === 'error') throw ownerError(reply, 'refresh_failed');
    if (reply.kind !== 'refreshed')
      throw new ApiError(503, 'refresh_failed', 'The owner of this app did not answer; try again.');
    remember(s, reply.update);
    answerRefresh(ctx, reply.update, reply.outcome, detail);
  });

  router.delete('/task/:appid/:type', async (ctx) => {
    const task = findTask(ctx, s, true);
    const key: TaskKey = { appid: task.appid, type: task.type, sub: task.sub };
    const cmd: ShardCommand = { kind: 'unregister', appid: task.appid, task: key };
    const reply = await s.owner.send(task.appid, cmd);
    if (reply.kind === 'error') throw ownerError(reply, 'not_unregistered');
    s.cache.applyOwnerReply(cmd, reply);
    if (reply.kind !== 'unregistered' || !reply.found)
      throw notFound('unknown_task', `App ${task.appid} has no task of type ${task.type}.`);
    s.log.info({ reqId: ctx.state.reqId, ...key }, 'task unregistered');
    ctx.body = envelope(200, '', 'success');
  });

  router.delete('/app/:appid', async (ctx) => {
    const appid = pathAppid(ctx.params.appid);
    checkScope(ctx.state.token, appid, true);
    const cmd: ShardCommand = { kind: 'unregister', appid };
    const reply = await s.owner.send(appid, cmd);
    if (reply.kind === 'error') throw ownerError(reply, 'not_unregistered');
    s.cache.applyOwnerReply(cmd, reply);
    if (reply.kind !== 'unregistered' || !reply.found) throw notFound('unknown_app', `App ${appid} is not registered.`);
    s.log.info({ reqId: ctx.state.reqId, appid }, 'app unregistered');
    ctx.body = envelope(200, '', 'success');
  });
}
