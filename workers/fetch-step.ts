import { ParamValues } from '../lib/contract/params.js';
import { TaskKey, TaskType, TASK_NAMES } from '../lib/contract/task-type.js';
import { LEASE_UNCONFIRMED, WechatFailure, WechatSuccess } from '../lib/wechat/wechat-client.js';
import { ErrorClass } from '../lib/wechat/errcodes.js';
import { TaskRegistration } from '../lib/store/rows.js';
import { callbackQuery } from './callbacks.js';
import { recovery, startPushWhenDue } from './component-recovery.js';
import { AppContext, DependencyHandle } from './shard-services.js';
import { StableForceBudget } from './stable-force.js';
import { fetchStableToken, StableOutcome } from './stable-token.js';

const TICKET_KEEP_MS = 12 * 3600 * 1000;

/** What the actor knows that a fetch needs. */
export interface FetchInput {
  key: TaskKey;
  reg: TaskRegistration;
  keptRefreshToken: string | null;
  authorizerAppid: string | null;
  /** Inputs WeChat already rejected; not sent again until they change. */
  rejectedRefreshToken: string | null;
  rejectedTicket: string | null;
  /** A passive refresh whose stale is the current value: a stable_token may be forced. */
  force: boolean;
  /** The task's value now (the one a forced refresh replaces). */
  currentValue: string | null;
  /** The appid's force_refresh budget (20 a day, 30 s apart), kept by the type 0 actor and made on first use. */
  forceBudget: () => StableForceBudget;
}

export type Attempt =
  | {
      kind: 'ok';
      res: WechatSuccess;
      refreshTokenUsed: string | null;
      authorizerAppid: string | null;
      stable?: StableOutcome;
    }
  | {
      kind: 'fail';
      res: WechatFailure;
      dep?: { handle: DependencyHandle; value: string };
      refreshTokenUsed?: { value: string; kept: boolean };
      ticketUsed?: string;
    }
  /** The dependency has no value yet: wait for it instead of asking WeChat. */
  | { kind: 'wait'; handle: DependencyHandle; message: string };

function fail(errorClass: ErrorClass, message: string): Attempt {
  return { kind: 'fail', res: { ok: false, errorClass, errcode: null, message } };
}

/** Reads params only when a fetch needs something its task does not hold. */
class ParamsReader {
  private cached: ParamValues | null = null;
  constructor(
    private readonly ctx: AppContext,
    private readonly input: FetchInput,
  ) {}

  get none(): boolean {
    return this.input.reg.params.kind === 'none';
  }

  async get(): Promise<{ ok: true; values: ParamValues } | { ok: false; message: string }> {
    if (this.cached) return { ok: true, values: this.cached };
    const p = this.input.reg.params;
    if (p.kind === 'none') return { ok: true, values: {} };
    if (p.kind === 'inline') {
      this.cached = p.values;
      return { ok: true, values: p.values };
    }
    const r = await this.ctx.services.callbacks.params(
      p.url,
      callbackQuery(this.input.key, this.input.authorizerAppid),
    );
    if (r.ok) this.cached = r.values;
    return r;
  }
}

/** One attempt to fetch a task's value from WeChat, gathering its inputs first. */
export async function fetchStep(ctx: AppContext, input: FetchInput): Promise<Attempt> {
  const { key } = input;
  if (!ctx.services.mayCall(key.appid)) return { kind: 'fail', res: LEASE_UNCONFIRMED };
  const wechat = ctx.services.wechat;
  const params = new ParamsReader(ctx, input);
  const app = ctx.app();
  switch (key.type) {
    case TaskType.AccessToken: {
      if (input.reg.stable || ctx.services.settings.stableToken) {
        const { res, stable } = await fetchStableToken(
          ctx.services,
          key.appid,
          app.secret,
          input.force ? input.currentValue : null,
          input.forceBudget,
        );
        return res.ok
          ? { kind: 'ok', res, refreshTokenUsed: null, authorizerAppid: null, stable }
          : { kind: 'fail', res };
      }
      const res = await wechat.accessToken(key.appid, app.secret);
      return res.ok ? { kind: 'ok', res, refreshTokenUsed: null, authorizerAppid: null } : { kind: 'fail', res };
    }
    case TaskType.JsapiTicket:
      return withCredential(ctx, TaskType.AccessToken, params, 'access_token', (token) =>
        wechat.jsapiTicket(key.appid, token),
      );
    case TaskType.CardTicket:
      return withCredential(ctx, TaskType.AccessToken, params, 'access_token', (token) =>
        wechat.cardTicket(key.appid, token),
      );
    case TaskType.OAuthToken: {
      const rt = await refreshToken(input, params, 'refresh_token');
      if ('fail' in rt) return rt.fail;
      const res = await wechat.oauthRefresh(key.appid, rt.value);
      return res.ok
        ? { kind: 'ok', res, refreshTokenUsed: rt.value, authorizerAppid: null }
        : { kind: 'fail', res, refreshTokenUsed: { value: rt.value, kept: rt.kept } };
    }
    case TaskType.ComponentToken: {
      const ticket = await verifyTicket(ctx, params, input);
      if ('fail' in ticket) return ticket.fail;
      const res = await wechat.componentToken(key.appid, app.secret, ticket.value);
      return res.ok
        ? { kind: 'ok', res, refreshTokenUsed: null, authorizerAppid: null }
        : { kind: 'fail', res, ticketUsed: ticket.value };
    }
    case TaskType.AuthorizerToken: {
      let authorizer = key.sub || input.authorizerAppid;
      if (!authorizer) {
        const p = await params.get();
        if (!p.ok) return fail('transient', p.message);
        authorizer = p.values.authorizer_appid ?? null;
        if (!authorizer) return fail('transient', 'params gave no authorizer_appid');
      }
      const rt = await refreshToken(input, params, 'authorizer_refresh_token');
      if ('fail' in rt) return rt.fail;
      const who = authorizer;
      const attempt = await withCredential(ctx, TaskType.ComponentToken, params, 'component_access_token', (token) =>
        wechat.authorizerToken(token, key.appid, who, rt.value),
      );
      if (attempt.kind === 'ok') return { ...attempt, refreshTokenUsed: rt.value, authorizerAppid: who };
      if (attempt.kind === 'fail') return { ...attempt, refreshTokenUsed: { value: rt.value, kept: rt.kept } };
      return attempt;
    }
  }
}

/** Type 1 and 4: use the dependency task's value when registered, else params. */
async function withCredential(
  ctx: AppContext,
  depType: TaskType,
  params: ParamsReader,
  field: 'access_token' | 'component_access_token',
  call: (credential: string) => Promise<WechatSuccess | WechatFailure>,
): Promise<Attempt> {
  const dep = ctx.dependency(depType);
  if (dep) {
    const value = dep.usableValue();
    if (!value)
      return { kind: 'wait', handle: dep, message: `waiting for this app's ${TASK_NAMES[depType]} (type ${depType})` };
    const res = await call(value);
    return res.ok
      ? { kind: 'ok', res, refreshTokenUsed: null, authorizerAppid: null }
      : { kind: 'fail', res, dep: { handle: dep, value } };
  }
  // Its dependency was unregistered and nothing else can supply the credential: a registration must fix it.
  if (params.none) return fail('configuration', `needs a type ${depType} task of this app or params giving ${field}`);
  const p = await params.get();
  if (!p.ok) return fail('transient', p.message);
  const credential = p.values[field];
  if (!credential) return fail('transient', `params gave no ${field}`);
  const res = await call(credential);
  return res.ok ? { kind: 'ok', res, refreshTokenUsed: null, authorizerAppid: null } : { kind: 'fail', res };
}

/** Type 2 and 4: the kept refresh token, unless rejected; else the one from params. */
async function refreshToken(
  input: FetchInput,
  params: ParamsReader,
  field: 'refresh_token' | 'authorizer_refresh_token',
): Promise<{ value: string; kept: boolean } | { fail: Attempt }> {
  const kept = input.keptRefreshToken;
  if (kept && kept !== input.rejectedRefreshToken) return { value: kept, kept: true };
  const p = await params.get();
  if (!p.ok) return { fail: fail('transient', p.message) };
  const fromParams = p.values[field];
  if (!fromParams)
    return {
      fail: fail(
        'refresh_token',
        `no usable ${field}: ${kept ? 'WeChat rejected the kept one and ' : ''}params gave none`,
      ),
    };
  if (fromParams === input.rejectedRefreshToken) {
    return {
      fail: fail('refresh_token', `WeChat rejected the ${field}; waiting for a registration that brings a new one`),
    };
  }
  return { value: fromParams, kept: false };
}

/** Type 3: the ticket from params, else the last one received within 12 hours. */
async function verifyTicket(
  ctx: AppContext,
  params: ParamsReader,
  input: FetchInput,
): Promise<{ value: string } | { fail: Attempt }> {
  const p = await params.get();
  const app = ctx.app();
  let ticket = p.ok ? p.values.component_verify_ticket : undefined;
  if (ticket && ticket !== app.verifyTicket && input.reg.params.kind === 'url') await ctx.keepVerifyTicket(ticket);
  if (!ticket && app.verifyTicket && app.verifyTicketAt !== null && Date.now() - app.verifyTicketAt < TICKET_KEEP_MS) {
    ticket = app.verifyTicket;
  }
  if (!ticket || ticket === input.rejectedTicket) {
    // WeChat pushes a ticket every 10 minutes (to us, or to a business system relaying it through
    // params); after 10 minutes without a usable one, ask it to push one now.
    await startPushWhenDue(ctx);
    if (ticket) return { fail: fail('ticket', 'WeChat rejected the component_verify_ticket; waiting for a new one') };
    if (input.reg.push && p.ok)
      return {
        fail: fail(
          'ticket',
          'waiting for WeChat to push a component_verify_ticket to POST /component/:appid/events (every 10 minutes)',
        ),
      };
    return { fail: fail(p.ok ? 'ticket' : 'transient', p.ok ? 'params gave no component_verify_ticket' : p.message) };
  }
  recovery.ticketUsable(input.key.appid);
  return { value: ticket };
}
