import { isObject } from '../lib/contract/registration.js';
import { TaskType } from '../lib/contract/task-type.js';
import { WechatClient, WechatFailure } from '../lib/wechat/wechat-client.js';
import { AppContext } from './shard-services.js';

/** api_get_authorizer_list: at most once a minute per component, to look a rejected refresh token up. */
export const LIST_LOOKUP_INTERVAL_MS = 60_000;
/** api_start_push_ticket after this long without a usable verify ticket, and at most this often. */
export const START_PUSH_AFTER_MS = 10 * 60_000;
/** WeChat's page size for api_get_authorizer_list. */
export const AUTHORIZER_PAGE = 500;
/** A component with more authorizers than this is not paged through further. */
const MAX_PAGES = 1_000;

export interface ListedAuthorizer {
  appid: string;
  refreshToken: string;
}

/**
 * When a component may ask WeChat for help, per component appid, by an
 * injectable clock: one authorizer-list lookup a minute, and
 * api_start_push_ticket once it has gone 10 minutes without a usable
 * verify ticket, at most once per 10 minutes.
 */
export interface RecoveryIntervals {
  listLookupMs: number;
  startPushMs: number;
}

export class ComponentRecovery {
  private readonly listedAt = new Map<string, number>();
  private readonly noTicketSince = new Map<string, number>();
  private readonly pushStartedAt = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly intervals: RecoveryIntervals = {
      listLookupMs: LIST_LOOKUP_INTERVAL_MS,
      startPushMs: START_PUSH_AFTER_MS,
    },
  ) {}

  /** Whether a lookup may run now; taking it starts the minute. */
  takeListLookup(component: string): boolean {
    const t = this.now();
    const last = this.listedAt.get(component);
    if (last !== undefined && t - last < this.intervals.listLookupMs) return false;
    this.listedAt.set(component, t);
    return true;
  }

  ticketUsable(component: string): void {
    this.noTicketSince.delete(component);
  }

  /** No usable ticket now: whether to call api_start_push_ticket (and the call is then counted as made). */
  takeStartPush(component: string): boolean {
    const t = this.now();
    const since = this.noTicketSince.get(component);
    if (since === undefined) {
      this.noTicketSince.set(component, t);
      return false;
    }
    if (t - since < this.intervals.startPushMs) return false;
    const last = this.pushStartedAt.get(component);
    if (last !== undefined && t - last < this.intervals.startPushMs) return false;
    this.pushStartedAt.set(component, t);
    return true;
  }
}

/**
 * Shorter intervals for the test suite only (with WECHAT_SCHEDULER_TEST_FAULTS=1), so that a test
 * can watch api_start_push_ticket happen end to end instead of waiting 10 minutes.
 */
function testIntervals(): RecoveryIntervals | undefined {
  const ms = Number(process.env.WECHAT_SCHEDULER_TEST_START_PUSH_MS);
  if (process.env.WECHAT_SCHEDULER_TEST_FAULTS !== '1' || !Number.isInteger(ms) || ms <= 0) return undefined;
  return { listLookupMs: LIST_LOOKUP_INTERVAL_MS, startPushMs: ms };
}

/** The shard's one instance (each shard is a thread of its own, and a component belongs to one shard). */
export const recovery = new ComponentRecovery(Date.now, testIntervals());

/** Every authorizer WeChat lists for the component, a page (500) at a time, each page handed to `onPage`. */
export async function pageAuthorizers(
  wechat: WechatClient,
  componentToken: string,
  component: string,
  onPage: (page: ListedAuthorizer[]) => Promise<void>,
): Promise<{ ok: true } | WechatFailure> {
  for (let page = 0, offset = 0; page < MAX_PAGES; page++) {
    const r = await wechat.authorizerList(componentToken, component, offset, AUTHORIZER_PAGE);
    if (!r.ok) return r;
    const list = Array.isArray(r.json.list) ? r.json.list : [];
    const total = Number(r.json.total_count);
    const listed: ListedAuthorizer[] = [];
    for (const a of list) {
      if (
        isObject(a) &&
        typeof a.authorizer_appid === 'string' &&
        typeof a.refresh_token === 'string' &&
        a.refresh_token !== ''
      ) {
        listed.push({ appid: a.authorizer_appid, refreshToken: a.refresh_token });
      }
    }
    await onPage(listed);
    offset += list.length;
    if (list.length === 0 || !Number.isFinite(total) || offset >= total) return { ok: true };
  }
  return { ok: true };
}

/**
 * WeChat rejected a type-4 task's refresh token (61023): its current one,
 * as api_get_authorizer_list has it, when that differs from the rejected
 * one; null when none is to be had (or the minute's lookup is used up).
 */
export async function lookUpRefreshToken(
  ctx: AppContext,
  authorizer: string,
  rejected: string | undefined,
): Promise<string | null> {
  const component = ctx.app().appid;
  const token = ctx.dependency(TaskType.ComponentToken)?.usableValue();
  if (!token || !ctx.services.mayCall(component) || !recovery.takeListLookup(component)) return null;
  let found: string | null = null;
  const r = await pageAuthorizers(ctx.services.wechat, token, component, async (page) => {
    found ??= page.find((a) => a.appid === authorizer)?.refreshToken ?? null;
  });
  const log = ctx.services.log;
  if (!r.ok)
    log.warn(
      { appid: component, authorizer, error: r.message },
      'api_get_authorizer_list failed; the refresh token could not be looked up',
    );
  else
    log.info(
      { appid: component, authorizer, found: found !== null && found !== rejected },
      'looked the authorizer refresh token up after 61023',
    );
  return found !== null && found !== rejected ? found : null;
}

/** A component without a usable verify ticket: after 10 minutes, ask WeChat to push one (at most every 10 minutes), to wherever the platform receives them. */
export async function startPushWhenDue(ctx: AppContext): Promise<void> {
  const app = ctx.app();
  if (!ctx.services.mayCall(app.appid) || !recovery.takeStartPush(app.appid)) return;
  const r = await ctx.services.wechat.startPushTicket(app.appid, app.secret);
  if (r.ok)
    ctx.services.log.info(
      { appid: app.appid },
      'no usable component_verify_ticket for 10 minutes: asked WeChat to push one (api_start_push_ticket)',
    );
  else ctx.services.log.warn({ appid: app.appid, error: r.message }, 'api_start_push_ticket failed');
}
