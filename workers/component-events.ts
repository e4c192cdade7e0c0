import { ComponentEvent } from '../lib/contract/component-event.js';
import { ShardErrorReason, ShardReply } from '../lib/contract/messages.js';
import { isObject, ValidTask } from '../lib/contract/registration.js';
import { TaskType } from '../lib/contract/task-type.js';
import { mask } from '../lib/log.js';
import { WechatJson, WechatSuccess } from '../lib/wechat/wechat-client.js';
import { AppActor } from './app-actor.js';
import { pageAuthorizers, recovery } from './component-recovery.js';
import { ShardServices } from './shard-services.js';

/** What the component handlers need of their shard. */
export interface ComponentHost extends ShardServices {
  appActor(appid: string): AppActor | undefined;
  /** Reconcile the app's actors with the store. */
  reconcile(appid: string): Promise<void>;
}

const OK: ShardReply = { kind: 'ok' };
const error = (reason: ShardErrorReason, message: string): ShardReply => ({ kind: 'error', reason, message });

function component(host: ComponentHost, appid: string): { app: AppActor } | { reply: ShardReply } {
  const app = host.appActor(appid);
  if (!app) return { reply: error('unknown_app', `App ${appid} is not registered.`) };
  if (!host.mayCall(appid)) return { reply: LEASE_LOST(appid) };
  if (!app.task(TaskType.ComponentToken, ''))
    return { reply: error('unknown_task', `App ${appid} has no type 3 (component_access_token) task.`) };
  return { app };
}

/** A type-4 task of `sub` as a registration names it: no notify or params of its own unless `params` says. */
function authorizerTask(sub: string, refreshToken?: string): ValidTask {
  return {
    type: TaskType.AuthorizerToken,
    sub,
    notify: null,
    stable: false,
    push: null,
    params: refreshToken ? { kind: 'inline', values: { authorizer_refresh_token: refreshToken } } : { kind: 'none' },
  };
}

/** A call that pays with the component_access_token, retried once after refreshing a token WeChat rejected. */
async function withComponentToken(
  app: AppActor,
  call: (token: string) => Promise<WechatJson>,
): Promise<WechatJson | null> {
  const comp = app.task(TaskType.ComponentToken, '');
  const token = comp?.usableValue();
  if (!comp || !token) return null;
  const r = await call(token);
  if (r.ok || r.errorClass !== 'dependency') return r;
  await comp.refreshIfStale(token);
  const next = comp.usableValue();
  return next && next !== token ? call(next) : r;
}

const LEASE_LOST = (appid: string) =>
  error(
    'unavailable',
    `This instance cannot confirm that it still owns app ${appid} (cluster lease); try again shortly.`,
  );

const NO_TOKEN = (appid: string) =>
  error(
    'unavailable',
    `Component ${appid} has no component_access_token yet (it needs a component_verify_ticket first); try again shortly.`,
  );

/** An event WeChat pushed (already verified and decrypted by the front). */
export async function componentEvent(host: ComponentHost, appid: string, event: ComponentEvent): Promise<ShardReply> {
  const found = component(host, appid);
  if ('reply' in found) return found.reply;
  const { app } = found;
  const { log } = host;
  let reply = OK;
  switch (event.kind) {
    case 'verify_ticket': {
      const row = app.app();
      const at = event.createTime * 1000;
      if (row.verifyTicketAt !== null && at < row.verifyTicketAt) {
        log.info({ appid, createTime: event.createTime }, 'component_verify_ticket older than the kept one: ignored');
      } else if (event.ticket !== row.verifyTicket) {
        await app.keepVerifyTicket(event.ticket, at);
        recovery.ticketUsable(appid);
        log.info({ appid, ticket: mask(event.ticket) }, 'component_verify_ticket pushed by WeChat');
        // A component fetch waiting for a ticket goes now.
        app.task(TaskType.ComponentToken, '')?.dependencyChanged();
      }
      break;
    }
    case 'authorized':
      reply = await authorized(host, app, event.authorizerAppid, event.code);
      break;
    case 'unauthorized':
      if (app.task(TaskType.AuthorizerToken, event.authorizerAppid)) {
        await host.store.deleteTask({ appid, type: TaskType.AuthorizerToken, sub: event.authorizerAppid });
        await host.reconcile(appid);
        log.info(
          { appid, authorizer: event.authorizerAppid },
          'authorizer unauthorized: its type 4 task is unregistered',
        );
      }
      break;
    case 'other':
      break;
  }
  const push = app.task(TaskType.ComponentToken, '')?.registration().push;
  if (reply.kind !== 'error' && push?.notify) {
    host.callbacks.notify(
      push.notify,
      { appid, type: String(TaskType.ComponentToken), info_type: event.fields.InfoType ?? '' },
      event.fields,
    );
  }
  return reply;
}

/** authorized / updateauthorized: api_query_auth, then the type-4 task holds the token WeChat gave. */
async function authorized(host: ComponentHost, app: AppActor, authorizer: string, code: string): Promise<ShardReply> {
  const appid = app.app().appid;
  const r = await withComponentToken(app, (token) => host.wechat.queryAuth(token, appid, code));
  if (!r) return NO_TOKEN(appid);
  if (!r.ok) return error('upstream_failed', `api_query_auth failed: ${r.message}.`);
  const info = isObject(r.json.authorization_info) ? r.json.authorization_info : {};
  const value = info.authorizer_access_token;
  const expiresIn = Number(info.expires_in);
  const refreshToken = info.authorizer_refresh_token;
  const who =
    typeof info.authorizer_appid === 'string' && info.authorizer_appid !== '' ? info.authorizer_appid : authorizer;
  if (
    typeof value !== 'string' ||
    value === '' ||
    !Number.isFinite(expiresIn) ||
    expiresIn <= 0 ||
    typeof refreshToken !== 'string' ||
    refreshToken === ''
  ) {
    return error(
      'upstream_failed',
      'api_query_auth answered without authorizer_access_token, expires_in or authorizer_refresh_token.',
    );
  }
  if (who !== authorizer)
    return error('upstream_failed', `api_query_auth answered for authorizer ${who.slice(0, 64)}, not ${authorizer}.`);
  const res: WechatSuccess = {
    ok: true,
    value,
    expiresIn,
    refreshToken,
    raw: { authorizer_access_token: value, expires_in: expiresIn, authorizer_refresh_token: refreshToken },
  };
  const existing = app.task(TaskType.AuthorizerToken, authorizer);
  if (existing) {
    await existing.adopt(res, authorizer);
  } else {
    const { store } = host;
    const now = Date.now();
    await store.register({ appid, appsecret: app.app().secret, tasks: [authorizerTask(authorizer)] }, now);
    await store.saveState(
      { appid, type: TaskType.AuthorizerToken, sub: authorizer },
      {
        value,
        expiresAt: now + expiresIn * 1000,
        expiresIn,
        refreshedAt: now,
        fetchedSecretGen: 0,
        refreshToken,
        authorizerAppid: authorizer,
        state: 'ready',
        lastError: null,
        nextRefreshAt: null,
        fetchCount: 0,
        failCount: 0,
      },
    );
    // The new actor starts from the stored value: no fetch before its refresh time.
    await host.reconcile(appid);
  }
  host.log.info(
    { appid, authorizer, value: mask(value) },
    'authorizer authorized: its type 4 task holds the token from api_query_auth',
  );
  return OK;
}

/** POST /component/:appid/authorizers/import: a type-4 task for every authorizer WeChat lists. */
export async function importAuthorizers(host: ComponentHost, appid: string): Promise<ShardReply> {
  const found = component(host, appid);
  if ('reply' in found) return found.reply;
  const { app } = found;
  const token = app.task(TaskType.ComponentToken, '')?.usableValue();
  if (!token) return NO_TOKEN(appid);
  let imported = 0;
  let existing = 0;
  const seen = new Set<string>();
  const r = await pageAuthorizers(host.wechat, token, appid, async (page) => {
    const fresh: ValidTask[] = [];
    for (const a of page) {
      if (seen.has(a.appid)) continue;
      seen.add(a.appid);
      if (app.task(TaskType.AuthorizerToken, a.appid)) existing++;
      else fresh.push(authorizerTask(a.appid, a.refreshToken));
    }
    if (fresh.length === 0) return;
    await host.store.register({ appid, appsecret: app.app().secret, tasks: fresh }, Date.now());
    await host.reconcile(appid);
    imported += fresh.length;
  });
  host.log.info({ appid, imported, existing }, 'authorizers imported');
  if (!r.ok)
    return error(
      'upstream_failed',
      `api_get_authorizer_list failed after ${imported} imported and ${existing} existing: ${r.message}.`,
    );
  return { kind: 'result', result: { imported, existing } };
}

/** POST /app/:appid/clear-quota: clear_quota/v2 (the component one for an app with a type-3 task). */
export async function clearQuota(host: ComponentHost, appid: string): Promise<ShardReply> {
  const app = host.appActor(appid);
  if (!app) return error('unknown_app', `App ${appid} is not registered.`);
  if (!host.mayCall(appid)) return LEASE_LOST(appid);
  const isComponent = app.task(TaskType.ComponentToken, '') !== undefined;
  const r = await host.wechat.clearQuota(appid, app.app().secret, isComponent);
  host.log.info({ appid, component: isComponent, ok: r.ok, errcode: r.ok ? 0 : r.errcode }, 'clear_quota');
  if (r.ok) return { kind: 'result', result: r.json };
  if (r.errcode === 48006)
    return error(
      'refused',
      `WeChat refused to reset the quotas of app ${appid}: this month's resets are used up (${r.message}).`,
    );
  return error('upstream_failed', `WeChat refused to reset the quotas of app ${appid}: ${r.message}.`);
}
