import { createHmac } from 'node:crypto';
import { Agent } from 'undici';
import { hostAllowed } from '../lib/contract/callback-hosts.js';
import { ParamValues, pickParamValues } from '../lib/contract/params.js';
import { TaskKey } from '../lib/contract/task-type.js';
import { createAgent, OutboundError, parseJsonObject, send } from '../lib/http/outbound.js';
import { Logger } from '../lib/log.js';
import { NotifyDrop, NotifyJob, NotifyQueue } from './notify-queue.js';
import { backoffMs } from '../lib/timing.js';

/** A params answer is a handful of short strings; anything bigger is refused unread. */
export const MAX_PARAMS_ANSWER = 64 * 1024;
/** The business system's answer to a notify is not used; read at most this much of it. */
const MAX_NOTIFY_ANSWER = 64 * 1024;
const NOTIFY_ATTEMPTS = 4;
const NOTIFY_PER_ORIGIN = 32;
/** Tasks whose newest value waits for one origin; each task counts once, however often it refreshed. */
export const NOTIFY_BACKLOG = 10_000;
/** One "notify failed" line per origin per this interval. */
const NOTIFY_WARN_EVERY_MS = 10_000;

export type ParamsResult = { ok: true; values: ParamValues } | { ok: false; message: string };

/** Query added to notify and params URLs: appid, type, and the sub-key for types 2 and 4. */
export function callbackQuery(key: TaskKey, authorizerAppid: string | null): Record<string, string> {
  const q: Record<string, string> = { appid: key.appid, type: String(key.type) };
  if (key.type === 4 && (authorizerAppid || key.sub)) q.authorizer_appid = authorizerAppid || key.sub;
  if (key.type === 2 && key.sub) q.openid = key.sub;
  return q;
}

export function withQuery(url: string, query: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  return u.toString();
}

/** HMAC-SHA256 over `timestamp + "." + body`, as documented in the README. */
export function signNotify(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Calls to the business system. Both are bounded by a timeout and a
 * connection limit of their own, so a slow or dead URL never holds up
 * WeChat fetches; notify is fire-and-forget with retries.
 *
 * Safety (docs/security.md): redirects are never followed (a 3xx is a
 * failure: a registered URL must not become a way to reach another host),
 * params answers are capped at MAX_PARAMS_ANSWER bytes, and with
 * `callbackHosts` in the config file only those hosts are ever called.
 */
export class Callbacks {
  private readonly agent: Agent;
  /** Notifies per origin: a dead business host queues its own calls, nobody else's (notify-queue.ts). */
  readonly notifies: NotifyQueue;

  constructor(
    private readonly timeoutMs: number,
    private readonly log: Logger,
    private readonly notifySecret: string | undefined,
    private readonly onNotify: (ok: boolean) => void,
    private readonly callbackHosts?: readonly string[],
    onDropped: (reason: NotifyDrop) => void = () => undefined,
    backlog = NOTIFY_BACKLOG,
  ) {
    this.agent = createAgent({ connections: 16, timeoutMs });
    this.notifies = new NotifyQueue({
      perOrigin: NOTIFY_PER_ORIGIN,
      backlog,
      warnEveryMs: NOTIFY_WARN_EVERY_MS,
      log,
      deliver: (job, current, failed) => this.deliver(job, current, failed, onDropped),
      dropped: onDropped,
    });
  }

  /** Checked before every call: the list may have shrunk on a reload since the URL was registered. */
  private allowed(url: string): boolean {
    try {
      return hostAllowed(new URL(url), this.callbackHosts);
    } catch {
      return false;
    }
  }

  async params(url: string, query: Record<string, string>): Promise<ParamsResult> {
    if (!this.allowed(url)) return { ok: false, message: 'params URL host is not in callbackHosts of the config file' };
    try {
      const res = await send(this.agent, {
        method: 'GET',
        url: withQuery(url, query),
        timeoutMs: this.timeoutMs,
        maxBytes: MAX_PARAMS_ANSWER,
      });
      if (res.status >= 300 && res.status < 400)
        return { ok: false, message: `params URL answered HTTP ${res.status}; redirects are not followed` };
      if (res.status < 200 || res.status >= 300)
        return { ok: false, message: `params URL answered HTTP ${res.status}` };
      const json = parseJsonObject(res.text);
      if (!json) return { ok: false, message: 'params URL did not answer a JSON object' };
      return { ok: true, values: pickParamValues(json) };
    } catch (e) {
      return { ok: false, message: `params URL ${e instanceof OutboundError ? e.message : 'request failed'}` };
    }
  }

  /** Deliver in the background; never awaited by the fetch path. */
  notify(url: string, query: Record<string, string>, payload: Record<string, unknown>): void {
    if (!this.allowed(url)) {
      this.onNotify(false);
      this.log.warn({ ...query }, 'notify skipped: its host is not in callbackHosts of the config file');
      return;
    }
    const target = withQuery(url, query);
    // The URL with the task's query names the task: its newer value supersedes this one.
    this.notifies.push({ task: target, url: target, body: JSON.stringify(payload), query });
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private async deliver(
    job: NotifyJob,
    current: () => boolean,
    failed: (attempt: number, why: string) => void,
    dropped: (reason: NotifyDrop) => void,
  ): Promise<void> {
    const { url, body } = job;
    for (let attempt = 1; attempt <= NOTIFY_ATTEMPTS; attempt++) {
      // A newer value of this task waits: it is sent next, this one never after it.
      if (attempt > 1 && !current()) {
        dropped('superseded');
        return;
      }
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (this.notifySecret) {
        const ts = String(Math.floor(Date.now() / 1000));
        headers['x-scheduler-timestamp'] = ts;
        headers['x-scheduler-signature'] = signNotify(this.notifySecret, ts, body);
      }
      let why: string;
      try {
        const res = await send(this.agent, {
          method: 'POST',
          url,
          body,
          headers,
          timeoutMs: this.timeoutMs,
          maxBytes: MAX_NOTIFY_ANSWER,
        });
        if (res.status >= 200 && res.status < 300) {
          this.onNotify(true);
          return;
        }
        why = `HTTP ${res.status}`;
      } catch (e) {
        why = e instanceof OutboundError ? e.message : 'request failed';
      }
      this.onNotify(false);
      failed(attempt, why);
      if (attempt < NOTIFY_ATTEMPTS) await new Promise((r) => setTimeout(r, backoffMs(attempt)));
    }
  }
}
