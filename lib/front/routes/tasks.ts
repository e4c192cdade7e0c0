import Router from '@koa/router';
import { ApiError, badRequest } from '../../contract/errors.js';
import { checkScope } from '../auth.js';
import { FrontContext, FrontState } from '../context.js';
import { envelope } from '../envelope.js';
import { FrontServices } from '../services.js';
import { TaskCache } from '../task-cache.js';
import { pathAppid, pathType, selector } from './params.js';

function findTask(ctx: FrontContext, s: FrontServices, writes: boolean, rawAppid: string = ctx.params.appid, rawType: string = ctx.params.type) {
  const appid = pathAppid(rawAppid);
  const type = pathType(rawType);
  checkScope(ctx.state.token, appid, writes);
  const found = s.cache.find(appid, type, selector(ctx));
  if (!found.ok) throw found.error;
  return found.task;
}

function serve(ctx: FrontContext, task: Parameters<typeof TaskCache.servable>[0]): void {
  const answer = TaskCache.servable(task, Date.now());
  if (!answer.ok) throw answer.error;
  ctx.type = 'application/json';
  ctx.body = answer.body;
}

/** GET /task/:appid/:type from the front's memory (also the fast path's handler). */
export function queryTask(ctx: FrontContext, s: FrontServices, rawAppid: string, rawType: string): void {
  serve(ctx, findTask(ctx, s, false, rawAppid, rawType));
}

/** GET /task, POST /task/…/refresh, DELETE /task, DELETE /app. */
export function taskRoutes(router: Router<FrontState>, s: FrontServices): void {
  router.get('/task/:appid/:type', (ctx) => queryTask(ctx, s, ctx.params.appid, ctx.params.type));

  router.post('/task/:appid/:type/refresh', async (ctx) => {
    const task = findTask(ctx, s, true);
    const body = ctx.request.body as Record<string, unknown> | undefined;
    const stale = body?.stale;
    if (stale !== undefined && (typeof stale !== 'string' || stale === '')) throw badRequest('bad_stale', 'stale must be the non-empty value that failed.');
    const reply = await s.owner.send(task.appid, { kind: 'refresh', key: { appid: task.appid, type: task.type, sub: task.sub }, stale });
    if (reply.kind === 'error') throw new ApiError(reply.status, 'refresh_failed', reply.message);
    if (reply.kind !== 'refreshed') throw new ApiError(503, 'refresh_failed', 'The owner of this app did not answer; try again.');
    s.cache.apply(reply.update);
    const fresh = s.cache.find(task.appid, task.type, { authorizer_appid: task.sub || undefined, openid: task.sub || undefined });
    serve(ctx, fresh.ok ? fresh.task : task);
  });

  router.delete('/task/:appid/:type', async (ctx) => {
    const task = findTask(ctx, s, true);
    const key = { appid: task.appid, type: task.type, sub: task.sub };
    if (!(await s.store.deleteTask(key))) throw new ApiError(404, 'unknown_task', `App ${task.appid} has no task of type ${task.type}.`);
    s.cache.remove(key);
    await s.owner.send(task.appid, { kind: 'reload', appid: task.appid }).catch(() => undefined);
    s.log.info({ ...key }, 'task unregistered');
    ctx.body = envelope(200, '', 'success');
  });

  router.delete('/app/:appid', async (ctx) => {
    const appid = pathAppid(ctx.params.appid);
    checkScope(ctx.state.token, appid, true);
    if (!(await s.store.deleteApp(appid))) throw new ApiError(404, 'unknown_app', `App ${appid} is not registered.`);
    s.cache.removeApp(appid);
    await s.owner.send(appid, { kind: 'reload', appid }).catch(() => undefined);
    s.log.info({ appid }, 'app unregistered');
    ctx.body = envelope(200, '', 'success');
  });
}
