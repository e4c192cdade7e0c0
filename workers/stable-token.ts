import { TaskType } from '../lib/contract/task-type.js';
import { WechatResult } from '../lib/wechat/wechat-client.js';
import { ShardServices } from './services.js';
import { StableForceBudget } from './stable-force.js';

/** What a stable_token fetch did about `force_refresh`, for the refresh answer and the log. */
export interface StableOutcome {
  forced: boolean;
  /** Why a wanted forced call was not made (or was refused); absent when nothing was held back. */
  note?: string;
}

/** 45009: daily quota reached; 45011: calls too close together. */
const FORCE_REFUSED = new Set([45009, 45011]);

/**
 * POST /cgi-bin/stable_token for one appid. `force_refresh` is wanted only
 * by a passive refresh whose `stale` is the current value; it is sent only
 * while the budget allows (20 a day, 30 s apart). Otherwise — or when
 * WeChat refuses it — a normal call is made instead, which still returns
 * the new token if someone else forced one, and the caller is told why.
 */
export async function fetchStableToken(
  services: ShardServices,
  appid: string,
  secret: string,
  wantForce: boolean,
  budget: StableForceBudget,
): Promise<{ res: WechatResult; stable: StableOutcome }> {
  const { wechat, settings, log } = services;
  if (!wantForce) return { res: await wechat.stableToken(appid, secret, false), stable: { forced: false } };
  const now = Date.now();
  const refusal = budget.refusal(now, { dailyLimit: settings.stableForceDailyLimit, intervalSeconds: settings.stableForceIntervalSeconds });
  if (refusal) {
    services.emit({ kind: 'stable-force', result: 'skipped' });
    log.warn({ appid, type: TaskType.AccessToken, why: refusal }, 'stable_token: not forcing, normal call instead');
    return { res: await wechat.stableToken(appid, secret, false), stable: { forced: false, note: refusal } };
  }
  budget.spend(now);
  const res = await wechat.stableToken(appid, secret, true);
  if (res.ok || res.errcode === null || !FORCE_REFUSED.has(res.errcode)) {
    if (res.ok) services.emit({ kind: 'stable-force', result: 'forced' });
    return { res, stable: { forced: res.ok } };
  }
  // WeChat keeps the authoritative count (ours starts afresh after a restart): believe it.
  budget.refusedByWechat(Date.now(), res.errcode);
  services.emit({ kind: 'stable-force', result: 'refused' });
  services.emit({ kind: 'fetch', type: TaskType.AccessToken, ok: false, errcode: res.errcode });
  const note = `WeChat refused stable_token force_refresh (${res.message})`;
  log.warn({ appid, type: TaskType.AccessToken, errcode: res.errcode }, 'stable_token: force_refresh refused by WeChat, normal call instead');
  return { res: await wechat.stableToken(appid, secret, false), stable: { forced: false, note } };
}
