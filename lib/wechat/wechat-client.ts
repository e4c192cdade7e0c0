import { Agent } from 'undici';
import { TaskType } from '../contract/task-type.js';
import { createAgent, OutboundError, parseJsonObject, send } from '../http/outbound.js';
import { Semaphore } from '../util/semaphore.js';
import { classifyErrcode, ErrorClass } from './errcodes.js';

export interface WechatSuccess {
  ok: true;
  value: string;
  expiresIn: number;
  /** WeChat's whole answer, handed to notify as it came. */
  raw: Record<string, unknown>;
  /** refresh_token / authorizer_refresh_token when WeChat returned one. */
  refreshToken?: string;
}

export interface WechatFailure {
  ok: false;
  errorClass: ErrorClass;
  errcode: number | null;
  /** A sentence for status and logs; never contains a secret or URL. */
  message: string;
}

export type WechatResult = WechatSuccess | WechatFailure;

/** An answer of a call that is not a credential fetch (errcode 0 or absent). */
export type WechatJson = { ok: true; json: Record<string, unknown> } | WechatFailure;

/** The field holding each task type's value (API.md §3). */
const VALUE_FIELD: Record<TaskType, string> = {
  0: 'access_token',
  1: 'ticket',
  2: 'access_token',
  3: 'component_access_token',
  4: 'authorizer_access_token',
  5: 'ticket',
};
const REFRESH_FIELD: Partial<Record<TaskType, string>> = { 2: 'refresh_token', 4: 'authorizer_refresh_token' };

const MAX_ANSWER = 64 * 1024;
/** A page of 500 authorizers with their refresh tokens is larger than a token answer. */
const MAX_LIST_ANSWER = 2 * 1024 * 1024;

export interface WechatClientOptions {
  baseUrl: string;
  timeoutMs: number;
  concurrency: number;
}

/** The WeChat HTTP API, one method per call of API.md §3, bounded in time and concurrency. */
export class WechatClient {
  private readonly agent: Agent;
  private readonly limit: Semaphore;

  constructor(private readonly opts: WechatClientOptions) {
    this.agent = createAgent({ connections: opts.concurrency, timeoutMs: opts.timeoutMs });
    this.limit = new Semaphore(opts.concurrency);
  }

  accessToken(appid: string, secret: string): Promise<WechatResult> {
    const q = new URLSearchParams({ grant_type: 'client_credential', appid, secret });
    return this.call(TaskType.AccessToken, 'GET', `/cgi-bin/token?${q}`);
  }

  stableToken(appid: string, secret: string, forceRefresh: boolean): Promise<WechatResult> {
    const body = { grant_type: 'client_credential', appid, secret, force_refresh: forceRefresh };
    return this.call(TaskType.AccessToken, 'POST', '/cgi-bin/stable_token', body);
  }

  jsapiTicket(accessToken: string): Promise<WechatResult> {
    const q = new URLSearchParams({ access_token: accessToken, type: 'jsapi' });
    return this.call(TaskType.JsapiTicket, 'GET', `/cgi-bin/ticket/getticket?${q}`);
  }

  /** The wx_card api_ticket (卡券 api_ticket). */
  cardTicket(accessToken: string): Promise<WechatResult> {
    const q = new URLSearchParams({ access_token: accessToken, type: 'wx_card' });
    return this.call(TaskType.CardTicket, 'GET', `/cgi-bin/ticket/getticket?${q}`);
  }

  oauthRefresh(appid: string, refreshToken: string): Promise<WechatResult> {
    const q = new URLSearchParams({ appid, grant_type: 'refresh_token', refresh_token: refreshToken });
    return this.call(TaskType.OAuthToken, 'GET', `/sns/oauth2/refresh_token?${q}`);
  }

  componentToken(componentAppid: string, secret: string, ticket: string): Promise<WechatResult> {
    const body = { component_appid: componentAppid, component_appsecret: secret, component_verify_ticket: ticket };
    return this.call(TaskType.ComponentToken, 'POST', '/cgi-bin/component/api_component_token', body);
  }

  authorizerToken(componentToken: string, componentAppid: string, authorizerAppid: string, refreshToken: string): Promise<WechatResult> {
    const q = new URLSearchParams({ component_access_token: componentToken });
    const body = { component_appid: componentAppid, authorizer_appid: authorizerAppid, authorizer_refresh_token: refreshToken };
    return this.call(TaskType.AuthorizerToken, 'POST', `/cgi-bin/component/api_authorizer_token?${q}`, body);
  }

  /** An authorization code (from an authorized event) → the authorizer's first token and its refresh token. */
  queryAuth(componentToken: string, componentAppid: string, authorizationCode: string): Promise<WechatJson> {
    const q = new URLSearchParams({ component_access_token: componentToken });
    return this.json(TaskType.AuthorizerToken, `/cgi-bin/component/api_query_auth?${q}`, { component_appid: componentAppid, authorization_code: authorizationCode });
  }

  /** One page of the authorizers of a component, with their refresh tokens. */
  authorizerList(componentToken: string, componentAppid: string, offset: number, count: number): Promise<WechatJson> {
    const q = new URLSearchParams({ component_access_token: componentToken });
    return this.json(TaskType.AuthorizerToken, `/cgi-bin/component/api_get_authorizer_list?${q}`, { component_appid: componentAppid, offset, count });
  }

  /** Asks WeChat to push a component_verify_ticket now. */
  startPushTicket(componentAppid: string, secret: string): Promise<WechatJson> {
    return this.json(TaskType.ComponentToken, '/cgi-bin/component/api_start_push_ticket', { component_appid: componentAppid, component_secret: secret });
  }

  /** Resets the app's (or, for a component, the platform's) API call quotas with its secret. */
  clearQuota(appid: string, secret: string, component: boolean): Promise<WechatJson> {
    return component
      ? this.json(TaskType.ComponentToken, '/cgi-bin/component/clear_quota/v2', { component_appid: appid, appid, appsecret: secret })
      : this.json(TaskType.AccessToken, '/cgi-bin/clear_quota/v2', { appid, appsecret: secret });
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  /** A POST whose answer is not a credential: errcode 0 (or none) is success. `type` classifies errcodes. */
  private async json(type: TaskType, pathAndQuery: string, body: object): Promise<WechatJson> {
    const r = await this.request('POST', pathAndQuery, body, MAX_LIST_ANSWER);
    if (!r.ok) return r;
    const errcode = typeof r.json.errcode === 'number' ? r.json.errcode : 0;
    if (errcode === 0) return r;
    const errmsg = typeof r.json.errmsg === 'string' ? r.json.errmsg.slice(0, 300) : '';
    return failure(classifyErrcode(type, errcode), errcode, `WeChat errcode ${errcode}: ${errmsg}`);
  }

  private async call(type: TaskType, method: 'GET' | 'POST', pathAndQuery: string, body?: object): Promise<WechatResult> {
    const r = await this.request(method, pathAndQuery, body);
    return r.ok ? interpret(type, r.json) : r;
  }

  private request(method: 'GET' | 'POST', pathAndQuery: string, body?: object, maxBytes = MAX_ANSWER): Promise<WechatJson> {
    return this.limit.run(async () => {
      let res;
      try {
        res = await send(this.agent, {
          method,
          url: this.opts.baseUrl + pathAndQuery,
          body: body === undefined ? undefined : JSON.stringify(body),
          headers: body === undefined ? undefined : { 'content-type': 'application/json' },
          timeoutMs: this.opts.timeoutMs,
          maxBytes,
        });
      } catch (e) {
        const why = e instanceof OutboundError ? e.message : 'request failed';
        return failure('transient', null, `WeChat API ${why}`);
      }
      if (res.status >= 500) return failure('transient', null, `WeChat API answered HTTP ${res.status}`);
      const json = parseJsonObject(res.text);
      if (res.status !== 200 || !json) return failure('transient', null, `WeChat API answered HTTP ${res.status} without a JSON object`);
      return { ok: true, json };
    });
  }
}

function failure(errorClass: ErrorClass, errcode: number | null, message: string): WechatFailure {
  return { ok: false, errorClass, errcode, message };
}

function interpret(type: TaskType, json: Record<string, unknown>): WechatResult {
  const errcode = typeof json.errcode === 'number' ? json.errcode : 0;
  if (errcode !== 0) {
    const errmsg = typeof json.errmsg === 'string' ? json.errmsg.slice(0, 300) : '';
    return failure(classifyErrcode(type, errcode), errcode, `WeChat errcode ${errcode}: ${errmsg}`);
  }
  const value = json[VALUE_FIELD[type]];
  const expiresIn = Number(json.expires_in);
  if (typeof value !== 'string' || value === '' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    return failure('transient', null, `WeChat answer lacked ${VALUE_FIELD[type]} or expires_in`);
  }
  const rtField = REFRESH_FIELD[type];
  const rt = rtField ? json[rtField] : undefined;
  return { ok: true, value, expiresIn, raw: json, refreshToken: typeof rt === 'string' && rt !== '' ? rt : undefined };
}
