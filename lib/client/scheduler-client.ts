import { SchedulerError, SchedulerUnreachableError } from './errors.js';
import { JsapiSignature, signJsapi } from './jsapi-signature.js';
import { isRejectedToken } from './wechat-errcode.js';

export interface SchedulerClientOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:9001`. */
  url: string;
  /** API token, sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Bound on each HTTP request, ms (default 5000). */
  timeoutMs?: number;
  /** How many times a 503 (no value yet) or an unreachable server is retried (default 3). */
  retries?: number;
  /** Longest wait before one retry, ms, whatever Retry-After says (default 10000). */
  maxRetryWaitMs?: number;
  /** A cached value is used until this long before its expires_at, ms (default 60000; at most a fifth of its remaining life). */
  refreshMarginMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** Which task of an app: `type` (default 0) and, for types 2 and 4, whose. */
export interface TaskSelector {
  type?: number;
  openid?: string;
  authorizer_appid?: string;
}

/** A value with its lifetime, as `GET /task/…?detail=1` gives it. */
export interface TokenDetail {
  value: string;
  expiresAt: Date;
  refreshedAt: Date | null;
}

interface Cached {
  detail: TokenDetail;
  /** Used until then; after it, the next call asks the server. */
  freshUntil: number;
}

interface Envelope {
  code: number;
  message: string;
  result: unknown;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function taskPath(appid: string, sel: TaskSelector, refresh: boolean): string {
  const q = new URLSearchParams({ detail: '1' });
  if (sel.openid !== undefined) q.set('openid', sel.openid);
  if (sel.authorizer_appid !== undefined) q.set('authorizer_appid', sel.authorizer_appid);
  return `/task/${encodeURIComponent(appid)}/${sel.type ?? 0}${refresh ? '/refresh' : ''}?${q.toString()}`;
}

function asDetail(result: unknown, what: string): TokenDetail {
  const r = result as { value?: unknown; expires_at?: unknown; refreshed_at?: unknown } | null;
  if (typeof r !== 'object' || r === null || typeof r.value !== 'string' || typeof r.expires_at !== 'string') {
    throw new SchedulerError(
      502,
      `${what}: the server's answer has no {value, expires_at}; is the URL a wechat-scheduler?`,
    );
  }
  return {
    value: r.value,
    expiresAt: new Date(r.expires_at),
    refreshedAt: typeof r.refreshed_at === 'string' ? new Date(r.refreshed_at) : null,
  };
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * A client of wechat-scheduler for Node ≥ 20 (global fetch, no dependencies).
 * Values are cached until shortly before they expire and concurrent callers
 * of one task share one request; a token WeChat rejected is refreshed
 * through the server with `stale`, so a fleet of processes that all saw the
 * same dead token causes one WeChat call.
 */
export class SchedulerClient {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly maxRetryWaitMs: number;
  private readonly marginMs: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, Cached>();
  private readonly inflight = new Map<string, Promise<TokenDetail>>();

  constructor(o: SchedulerClientOptions) {
    let u: URL;
    try {
      u = new URL(o.url);
    } catch {
      throw new TypeError(`SchedulerClient: url must be an absolute http(s) URL, got ${JSON.stringify(o.url)}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new TypeError(`SchedulerClient: url must be http(s), got ${u.protocol}`);
    this.base = o.url.replace(/\/+$/, '');
    this.headers = o.token ? { authorization: `Bearer ${o.token}` } : {};
    this.timeoutMs = o.timeoutMs ?? 5000;
    this.retries = o.retries ?? 3;
    this.maxRetryWaitMs = o.maxRetryWaitMs ?? 10_000;
    this.marginMs = o.refreshMarginMs ?? 60_000;
    this.now = o.now ?? Date.now;
  }

  /** The current value of a task (type 0, the access_token, by default). */
  async token(appid: string, sel: TaskSelector = {}): Promise<string> {
    return (await this.detail(appid, sel)).value;
  }

  /** The current value with its expires_at and refreshed_at. */
  detail(appid: string, sel: TaskSelector = {}): Promise<TokenDetail> {
    const key = this.key(appid, sel);
    const cached = this.cache.get(key);
    if (cached && this.now() < cached.freshUntil) return Promise.resolve(cached.detail);
    return this.shared(key, () => this.load(key, 'GET', taskPath(appid, sel, false)));
  }

  /**
   * Ask the server for a new value because `stale` was rejected by WeChat.
   * When another process already replaced it, the server answers the
   * current value without calling WeChat. Without `stale`, the server
   * refreshes at most once per its refresh interval.
   */
  refresh(appid: string, sel: TaskSelector = {}, stale?: string): Promise<TokenDetail> {
    const key = this.key(appid, sel);
    // Callers holding the same stale value share one request.
    return this.shared(`${key}\u0000refresh\u0000${stale ?? ''}`, () =>
      this.load(key, 'POST', taskPath(appid, sel, true), stale === undefined ? undefined : { stale }),
    );
  }

  /**
   * Run `fn(value)`. When it throws, or returns a WeChat answer with
   * errcode 40001, 40014 or 42001, the value is refreshed with it as
   * `stale` and `fn` runs once more with the new value; that second run's
   * result (or error) is final. Any thrown error counts: SDKs often report a
   * rejected token only in the error's text, and with `stale` the server
   * fetches only when nobody has replaced that value yet.
   */
  async withToken<T>(appid: string, sel: TaskSelector, fn: (value: string) => T | Promise<T>): Promise<T> {
    const value = await this.token(appid, sel);
    try {
      const result = await fn(value);
      if (!isRejectedToken(result)) return result;
    } catch {
      // Fall through to one refresh and a second run.
    }
    const fresh = await this.refresh(appid, sel, value);
    return fn(fresh.value);
  }

  /**
   * The `wx.config` signature for a page URL, from the app's jsapi_ticket
   * (its type 1 task, or `ticket` to use another task, e.g. an authorizer's).
   */
  async jsapiSignature(appid: string, url: string, ticket: TaskSelector = { type: 1 }): Promise<JsapiSignature> {
    const value = await this.token(appid, ticket);
    return signJsapi(appid, value, url, Math.floor(this.now() / 1000));
  }

  private key(appid: string, sel: TaskSelector): string {
    return [appid, sel.type ?? 0, sel.openid ?? '', sel.authorizer_appid ?? ''].join('\u0000');
  }

  private shared(key: string, start: () => Promise<TokenDetail>): Promise<TokenDetail> {
    const running = this.inflight.get(key);
    if (running) return running;
    const p = start().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private async load(key: string, method: string, path: string, body?: unknown): Promise<TokenDetail> {
    const detail = asDetail(await this.call(method, path, body), `${method} ${path}`);
    const now = this.now();
    const left = detail.expiresAt.getTime() - now;
    const freshUntil = now + left - Math.min(this.marginMs, left / 5);
    const known = this.cache.get(key);
    // An answer that raced a newer one does not replace it.
    if (!known || known.detail.expiresAt.getTime() <= detail.expiresAt.getTime())
      this.cache.set(key, { detail, freshUntil });
    return detail;
  }

  /** One API call: its envelope's result, after retrying 503s (honouring Retry-After) and unreachable servers. */
  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.retries;
      let res: Response;
      let text: string;
      try {
        res = await fetch(this.base + path, {
          method,
          headers: body === undefined ? this.headers : { ...this.headers, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        text = await res.text();
      } catch (err) {
        const timedOut = (err as Error).name === 'TimeoutError';
        if (last) {
          throw new SchedulerUnreachableError(
            timedOut
              ? `${method} ${path}: no answer from ${this.base} within ${this.timeoutMs} ms`
              : `${method} ${path}: cannot reach ${this.base}: ${(err as Error).message}`,
            timedOut,
            { cause: err },
          );
        }
        await sleep(Math.min(this.maxRetryWaitMs, 200 * 2 ** attempt));
        continue;
      }
      let env: Envelope;
      try {
        env = JSON.parse(text) as Envelope;
      } catch {
        throw new SchedulerError(
          res.status,
          `${method} ${path}: the server answered HTTP ${res.status} with a body that is not JSON.`,
        );
      }
      // Under compat "v0" the HTTP status is always 200; the envelope's code is the truth.
      const code = typeof env.code === 'number' ? env.code : res.status;
      if (code === 200) return env.result;
      const wait = retryAfterMs(res.headers.get('retry-after'));
      const message = typeof env.message === 'string' && env.message ? env.message : `HTTP ${code}`;
      if (code !== 503 || last)
        throw new SchedulerError(code, message, wait, res.headers.get('x-request-id') ?? undefined);
      await sleep(Math.min(this.maxRetryWaitMs, wait ?? 1000));
    }
  }
}
