import { Agent } from 'undici';
import { TaskType } from '../contract/task-type.js';
import { createAgent, OutboundError, parseJsonObject, send } from '../http/outbound.js';
import { Semaphore } from '../util/semaphore.js';
import { classifyErrcode, ErrorClass } from './errcodes.js';
import { checkedExpiresIn, errcodeOf } from './answer-fields.js';
import { redactUrlSecrets, scrubSecrets } from './scrub.js';

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

/** The field holding each task type's value (docs/api.md §3). */
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
  /**
   * How long a call for the app `owner` (the app whose credentials or lease
   * it concerns) may take if it starts now; 0: it must not start. Asked
   * right before each request is sent, after its wait for a free
   * connection, so a call queued under a lease that has since run out is
   * never sent. Without it every call may start and takes up to timeoutMs.
   */
  callBudgetMs?: (owner: string) => number;
}

/** No WeChat call without a confirmed lease: another instance may be taking the app over. */
export const LEASE_UNCONFIRMED: WechatFailure = {
  ok: false,
  errorClass: 'transient',
  errcode: null,
  message: 'this instance cannot confirm its lease of the app now, so it starts no WeChat call',
};

/** The WeChat HTTP API, one method per call of docs/api.md §3, bounded in time and concurrency. */
export class WechatClient {
  private readonly agent: Agent;
  private readonly limit: Semaphore;

  constructor(private readonly opts: WechatClientOptions) {
    this.agent = createAgent({ connections: opts.concurrency, timeoutMs: opts.timeoutMs });
    this.limit = new Semaphore(opts.concurrency);
  }

  accessToken(appid: string, secret: string): Promise<WechatResult> {
    const q = new URLSearchParams({ grant_type: 'client_credential', appid, secret });
    return this.call(appid, TaskType.AccessToken, 'GET', `/cgi-bin/token?${q}`, undefined, [secret]);
  }

  stableToken(appid: string, secret: string, forceRefresh: boolean): Promise<WechatResult> {
    const body = { grant_type: 'client_credential', appid, secret, force_refresh: forceRefresh };
    return this.call(appid, TaskType.AccessToken, 'POST', '/cgi-bin/stable_token', body, [secret]);
  }

  jsapiTicket(appid: string, accessToken: string): Promise<WechatResult> {
    const q = new URLSearchParams({ access_token: accessToken, type: 'jsapi' });
    return this.call(appid, TaskType.JsapiTicket, 'GET', `/cgi-bin/ticket/getticket?${q}`);
  }

  /** The wx_card api_ticket (卡券 api_ticket). */
  cardTicket(appid: string, accessToken: string): Promise<WechatResult> {
    const q = new URLSearchParams({ access_token: accessToken, type: 'wx_card' });
    return this.call(appid, TaskType.CardTicket, 'GET', `/cgi-bin/ticket/getticket?${q}`);
  }

  oauthRefresh(appid: string, refreshToken: string): Promise<WechatResult> {
    const q = new URLSearchParams({ appid, grant_type: 'refresh_token', refresh_token: refreshToken });
    return this.call(appid, TaskType.OAuthToken, 'GET', `/sns/oauth2/refresh_token?${q}`, undefined, [refreshToken]);
  }

  componentToken(componentAppid: string, secret: string, ticket: string): Promise<WechatResult> {
    const body = { component_appid: componentAppid, component_appsecret: secret, component_verify_ticket: ticket };
    return this.call(componentAppid, TaskType.ComponentToken, 'POST', '/cgi-bin/component/api_component_token', body, [
      secret,
      ticket,
    ]);
  }

  authorizerToken(
    componentToken: string,
    componentAppid: string,
    authorizerAppid: string,
    refreshToken: string,
  ): Promise<WechatResult> {
    const q = new URLSearchParams({ component_access_token: componentToken });
    const body = {
      component_appid: componentAppid,
      authorizer_appid: authorizerAppid,
      authorizer_refresh_token: refreshToken,
    };
    return this.call(
      componentAppid,
      TaskType.AuthorizerToken,
      'POST',
      `/cgi-bin/component/api_authorizer_token?${q}`,
      body,
      [refreshToken, componentToken],
    );
  }

  /** An authorization code (from an authorized event) → the authorizer's first token and its refresh token. */
  queryAuth(componentToken: string, componentAppid: string, authorizationCode: string): Promise<WechatJson> {
    const q = new URLSearchParams({ component_access_token: componentToken });
    return this.json(componentAppid, TaskType.AuthorizerToken, `/cgi-bin/component/api_query_auth?${q}`, {
      component_appid: componentAppid,
      authorization_code: authorizationCode,
    });
  }

  /** One page of the authorizers of a component, with their refresh tokens. */
  authorizerList(componentToken: string, componentAppid: string, offset: number, count: number): Promise<WechatJson> {
    const q = new URLSearchParams({ component_access_token: componentToken });
    return this.json(componentAppid, TaskType.AuthorizerToken, `/cgi-bin/component/api_get_authorizer_list?${q}`, {
      component_appid: componentAppid,
      offset,
      count,
    });
  }

  /** Asks WeChat to push a component_verify_ticket now. */
  startPushTicket(componentAppid: string, secret: string): Promise<WechatJson> {
    return this.json(
      componentAppid,
      TaskType.ComponentToken,
      '/cgi-bin/component/api_start_push_ticket',
      { component_appid: componentAppid, component_secret: secret },
      [secret],
    );
  }

  /** Resets the app's (or, for a component, the platform's) API call quotas with its secret. */
  clearQuota(appid: string, secret: string, component: boolean): Promise<WechatJson> {
    return component
      ? this.json(
          appid,
          TaskType.ComponentToken,
          '/cgi-bin/component/clear_quota/v2',
          { component_appid: appid, appid, appsecret: secret },
          [secret],
        )
      : this.json(appid, TaskType.AccessToken, '/cgi-bin/clear_quota/v2', { appid, appsecret: secret }, [secret]);
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  /**
   * A POST whose answer is not a credential: errcode 0 (or none) is success. `type` classifies errcodes;
   * `secrets`: what this call sends that WeChat's answer must never carry into a message.
   */
  private async json(
    owner: string,
    type: TaskType,
    pathAndQuery: string,
    body: object,
    secrets: string[] = [],
  ): Promise<WechatJson> {
    const r = await this.request(owner, 'POST', pathAndQuery, body, MAX_LIST_ANSWER);
    if (!r.ok) return r;
    return answerError(type, r.json, secrets) ?? r;
  }

  /** `secrets`: what this call sends that WeChat's answer must never carry into a message. */
  private async call(
    owner: string,
    type: TaskType,
    method: 'GET' | 'POST',
    pathAndQuery: string,
    body?: object,
    secrets: string[] = [],
  ): Promise<WechatResult> {
    const r = await this.request(owner, method, pathAndQuery, body);
    return r.ok ? interpret(type, r.json, secrets) : r;
  }

  private request(
    owner: string,
    method: 'GET' | 'POST',
    pathAndQuery: string,
    body?: object,
    maxBytes = MAX_ANSWER,
  ): Promise<WechatJson> {
    return this.limit.run(async () => {
      const budget = this.opts.callBudgetMs ? this.opts.callBudgetMs(owner) : Infinity;
      if (!(budget > 0)) return LEASE_UNCONFIRMED;
      let res;
      try {
        res = await send(this.agent, {
          method,
          url: this.opts.baseUrl + pathAndQuery,
          body: body === undefined ? undefined : JSON.stringify(body),
          headers: body === undefined ? undefined : { 'content-type': 'application/json' },
          // Not past the lease: by then another instance may call for this app.
          timeoutMs: Math.min(this.opts.timeoutMs, Math.ceil(budget)),
          maxBytes,
        });
      } catch (e) {
        const why = e instanceof OutboundError ? e.message : 'request failed';
        return failure('transient', null, `WeChat API ${why}`);
      }
      if (res.status >= 500) return failure('transient', null, `WeChat API answered HTTP ${res.status}`);
      const json = parseJsonObject(res.text);
      if (res.status !== 200 || !json)
        return failure('transient', null, `WeChat API answered HTTP ${res.status} without a JSON object`);
      return { ok: true, json };
    });
  }
}

function failure(errorClass: ErrorClass, errcode: number | null, message: string): WechatFailure {
  return { ok: false, errorClass, errcode, message };
}

/** WeChat's error in an answer, its errmsg scrubbed of `secrets`; null when errcode says success. */
function answerError(type: TaskType, json: Record<string, unknown>, secrets: string[]): WechatFailure | null {
  const errcode = errcodeOf(json.errcode);
  if (errcode === 0) return null;
  // Scrubbed whole, then cut: a cut through a secret would leave its start behind.
  const errmsg =
    typeof json.errmsg === 'string' ? redactUrlSecrets(scrubSecrets(json.errmsg, secrets)).slice(0, 300) : '';
  if (errcode === null) return failure('transient', null, `WeChat answered an errcode that is not a number: ${errmsg}`);
  return failure(classifyErrcode(type, errcode), errcode, `WeChat errcode ${errcode}: ${errmsg}`);
}

function interpret(type: TaskType, json: Record<string, unknown>, secrets: string[]): WechatResult {
  const error = answerError(type, json, secrets);
  if (error) return error;
  const value = json[VALUE_FIELD[type]];
  if (typeof value !== 'string' || value === '')
    return failure('transient', null, `WeChat answer lacked ${VALUE_FIELD[type]}`);
  const expiresIn = checkedExpiresIn(json.expires_in);
  if (!expiresIn.ok) return failure('transient', null, expiresIn.message);
  const rtField = REFRESH_FIELD[type];
  const rt = rtField ? json[rtField] : undefined;
  return {
    ok: true,
    value,
    expiresIn: expiresIn.seconds,
    raw: json,
    refreshToken: typeof rt === 'string' && rt !== '' ? rt : undefined,
  };
}
