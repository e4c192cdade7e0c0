import { hostAllowed } from './callback-hosts.js';
import { badRequest } from './errors.js';
import { ParamsSource, PushSettings } from './params.js';
import { isEncodingAesKey } from '../wechat/msg-crypto.js';
import { isTaskType, MAX_TASK_TYPE, TaskType } from './task-type.js';

/** One task of a registration, validated (docs/api.md §5). */
export interface ValidTask {
  type: TaskType;
  /** authorizer_appid (type 4) or openid (type 2); "" when not given. */
  sub: string;
  notify: string | null;
  params: ParamsSource;
  /** Type 0 only: use /cgi-bin/stable_token instead of /cgi-bin/token. */
  stable: boolean;
  /** Type 3 only: WeChat pushes its events (verify tickets, authorizations) to POST /component/:appid/events. */
  push: PushSettings | null;
}

export interface ValidRegistration {
  appid: string;
  appsecret: string;
  tasks: ValidTask[];
}

export const MAX_TASKS = 1000;
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const OPENID_RE = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_URL = 2048;
const MAX_SECRET = 512;
const MAX_PARAM_VALUE = 4096;

type Json = Record<string, unknown>;

/** Settings of the running server that registration checks depend on. */
export interface RegistrationPolicy {
  /** Config file `callbackHosts`: notify/params URLs must name one of these hosts. */
  callbackHosts?: readonly string[];
}

function checkHost(url: string, field: string, policy: RegistrationPolicy): void {
  const u = parseHttpUrl(url);
  if (u && !hostAllowed(u, policy.callbackHosts)) {
    throw badRequest(
      'host_not_allowed',
      `${field} host ${u.host.slice(0, 100)} is not in callbackHosts of the server's config file.`,
    );
  }
}
export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function isValidAppid(s: string): boolean {
  return ID_RE.test(s);
}

/** An absolute http(s) URL, or null when it is not one. */
export function parseHttpUrl(s: string): URL | null {
  if (s.length > MAX_URL) return null;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return null;
  }
  return u.protocol === 'http:' || u.protocol === 'https:' ? u : null;
}

function validateParams(v: unknown, where: string, policy: RegistrationPolicy): ParamsSource {
  if (v === undefined || v === null || v === '') return { kind: 'none' };
  if (typeof v === 'string') {
    if (!parseHttpUrl(v))
      throw badRequest('bad_params', `${where}.params must be an absolute http(s) URL or a JSON object of strings.`);
    checkHost(v, `${where}.params`, policy);
    return { kind: 'url', url: v };
  }
  if (isObject(v)) {
    const values: Record<string, string> = {};
    for (const [k, val] of Object.entries(v)) {
      if (typeof val !== 'string' || val.length > MAX_PARAM_VALUE || k.length > 64) {
        throw badRequest(
          'bad_params',
          `${where}.params.${k.slice(0, 64)} must be a string of at most ${MAX_PARAM_VALUE} characters.`,
        );
      }
      values[k] = val;
    }
    return { kind: 'inline', values };
  }
  throw badRequest('bad_params', `${where}.params must be an absolute http(s) URL or a JSON object of strings.`);
}

function validateNotify(v: unknown, where: string, policy: RegistrationPolicy): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || !parseHttpUrl(v)) {
    throw badRequest('bad_notify', `${where}.notify must be an absolute http(s) URL.`);
  }
  checkHost(v, `${where}.notify`, policy);
  return v;
}

function validateSub(t: Json, type: TaskType, where: string, params: ParamsSource): string {
  const auth = t.authorizer_appid;
  const openid = t.openid;
  if (auth !== undefined && auth !== '' && type !== TaskType.AuthorizerToken) {
    throw badRequest('bad_task', `${where}.authorizer_appid is only allowed on type 4 tasks.`);
  }
  if (openid !== undefined && openid !== '' && type !== TaskType.OAuthToken) {
    throw badRequest('bad_task', `${where}.openid is only allowed on type 2 tasks.`);
  }
  if (type === TaskType.AuthorizerToken) {
    if (auth !== undefined && auth !== '') {
      if (typeof auth !== 'string' || !ID_RE.test(auth)) {
        throw badRequest('bad_task', `${where}.authorizer_appid must be 1-64 characters of A-Z, a-z, 0-9, _ or -.`);
      }
      return auth;
    }
    // An inline params object names the authorizer too.
    if (params.kind === 'inline' && params.values.authorizer_appid) {
      const a = params.values.authorizer_appid;
      if (!ID_RE.test(a))
        throw badRequest(
          'bad_task',
          `${where}.params.authorizer_appid must be 1-64 characters of A-Z, a-z, 0-9, _ or -.`,
        );
      return a;
    }
    return '';
  }
  if (type === TaskType.OAuthToken && openid !== undefined && openid !== '') {
    if (typeof openid !== 'string' || !OPENID_RE.test(openid)) {
      throw badRequest('bad_task', `${where}.openid must be 1-128 characters of A-Z, a-z, 0-9, _ or -.`);
    }
    return openid;
  }
  return '';
}

function validateTask(v: unknown, i: number, policy: RegistrationPolicy): ValidTask {
  const where = `tasks[${i}]`;
  if (!isObject(v)) throw badRequest('bad_task', `${where} must be an object with a "type".`);
  if (!isTaskType(v.type)) throw badRequest('bad_type', `${where}.type must be an integer from 0 to ${MAX_TASK_TYPE}.`);
  // JSON's -0 is an integer too; store it as the 0 it means.
  const type = (v.type === 0 ? 0 : v.type) as TaskType;
  const params = validateParams(v.params, where, policy);
  const notify = validateNotify(v.notify, where, policy);
  const sub = validateSub(v, type, where, params);
  if (v.stable !== undefined && typeof v.stable !== 'boolean') {
    throw badRequest('bad_task', `${where}.stable must be true or false.`);
  }
  if (v.stable === true && type !== TaskType.AccessToken) {
    throw badRequest('bad_task', `${where}.stable is only allowed on type 0 tasks.`);
  }
  const push = validatePush(v.push, type, where, policy);
  return { type, sub, notify, params, stable: v.stable === true, push };
}

const PUSH_TOKEN_RE = /^[\x21-\x7e]{1,128}$/;

function validatePush(v: unknown, type: TaskType, where: string, policy: RegistrationPolicy): PushSettings | null {
  if (v === undefined || v === null) return null;
  if (type !== TaskType.ComponentToken) throw badRequest('bad_task', `${where}.push is only allowed on type 3 tasks.`);
  if (!isObject(v))
    throw badRequest('bad_push', `${where}.push must be an object with token, encoding_aes_key and optionally notify.`);
  for (const k of Object.keys(v)) {
    if (k !== 'token' && k !== 'encoding_aes_key' && k !== 'notify')
      throw badRequest(
        'bad_push',
        `${where}.push has an unknown field "${k.slice(0, 64)}"; it takes token, encoding_aes_key and notify.`,
      );
  }
  if (typeof v.token !== 'string' || !PUSH_TOKEN_RE.test(v.token)) {
    throw badRequest(
      'bad_push',
      `${where}.push.token must be the platform's message token: 1-128 printable ASCII characters without spaces.`,
    );
  }
  if (typeof v.encoding_aes_key !== 'string' || !isEncodingAesKey(v.encoding_aes_key)) {
    throw badRequest(
      'bad_push',
      `${where}.push.encoding_aes_key must be the platform's EncodingAESKey: 43 characters of A-Z, a-z, 0-9, + or /.`,
    );
  }
  return {
    token: v.token,
    encodingAesKey: v.encoding_aes_key,
    notify: validateNotify(v.notify, `${where}.push`, policy),
  };
}

/** Shape checks of a POST /registe body; throws ApiError 400 naming the field. */
export function validateRegistration(body: unknown, policy: RegistrationPolicy = {}): ValidRegistration {
  if (!isObject(body)) throw badRequest('bad_body', 'The body must be a JSON object with appid, appsecret and tasks.');
  const { appid, appsecret, tasks } = body;
  if (typeof appid !== 'string' || !ID_RE.test(appid)) {
    throw badRequest('bad_appid', 'appid must be 1-64 characters of A-Z, a-z, 0-9, _ or -.');
  }
  if (typeof appsecret !== 'string' || appsecret === '' || appsecret.length > MAX_SECRET) {
    throw badRequest('bad_appsecret', `appsecret must be a non-empty string of at most ${MAX_SECRET} characters.`);
  }
  if (!Array.isArray(tasks) || tasks.length === 0) throw badRequest('bad_tasks', 'tasks must be a non-empty array.');
  if (tasks.length > MAX_TASKS) throw badRequest('bad_tasks', `tasks may hold at most ${MAX_TASKS} entries.`);
  const out = tasks.map((t, i) => validateTask(t, i, policy));
  const seen = new Map<string, number>();
  out.forEach((t, i) => {
    const k = `${t.type}/${t.sub}`;
    const prev = seen.get(k);
    if (prev !== undefined)
      throw badRequest(
        'duplicate_task',
        `tasks[${i}] repeats tasks[${prev}] (type ${t.type}${t.sub ? ` for ${t.sub}` : ''}).`,
      );
    seen.set(k, i);
  });
  return { appid, appsecret, tasks: out };
}

/** What is already stored that the "required inputs" rules may rely on. */
export interface RegistrationFacts {
  hasAccessTokenTask(appid: string): boolean;
  keptRefreshToken(appid: string, sub: string): boolean;
}

/** The "required inputs" rules of docs/api.md §5, which may look at earlier registrations. */
export function checkRequiredInputs(reg: ValidRegistration, facts: RegistrationFacts): void {
  const hasType0 = reg.tasks.some((t) => t.type === TaskType.AccessToken) || facts.hasAccessTokenTask(reg.appid);
  reg.tasks.forEach((t, i) => {
    const where = `tasks[${i}]`;
    const hasParams = t.params.kind !== 'none';
    switch (t.type) {
      case TaskType.JsapiTicket:
        if (!hasType0 && !hasParams)
          throw badRequest(
            'missing_input',
            `${where} (type 1, jsapi_ticket) needs a type 0 task for the same appid or params giving an access_token.`,
          );
        break;
      case TaskType.CardTicket:
        if (!hasType0 && !hasParams)
          throw badRequest(
            'missing_input',
            `${where} (type 5, wx_card api_ticket) needs a type 0 task for the same appid or params giving an access_token.`,
          );
        break;
      case TaskType.OAuthToken:
        if (!hasParams && !facts.keptRefreshToken(reg.appid, t.sub))
          throw badRequest(
            'missing_input',
            `${where} (type 2, OAuth2 access_token) needs params giving a refresh_token.`,
          );
        // A params object is all there is to ask: without the refresh_token the task could never fetch.
        if (t.params.kind === 'inline' && !t.params.values.refresh_token && !facts.keptRefreshToken(reg.appid, t.sub)) {
          throw badRequest(
            'missing_input',
            `${where}.params.refresh_token is missing: a type 2 (OAuth2 access_token) task needs params giving a refresh_token.`,
          );
        }
        break;
      case TaskType.ComponentToken:
        if (!hasParams && !t.push)
          throw badRequest(
            'missing_input',
            `${where} (type 3, component_access_token) needs push settings (WeChat then pushes the component_verify_ticket) or params giving one.`,
          );
        break;
      case TaskType.AuthorizerToken:
        if (!hasParams)
          throw badRequest(
            'missing_input',
            `${where} (type 4, authorizer_access_token) needs params giving an authorizer_refresh_token.`,
          );
        break;
      default:
        break;
    }
  });
}
