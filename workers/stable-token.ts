import { TaskType } from '../lib/contract/task-type.js';
import { WechatResult } from '../lib/wechat/wechat-client.js';
import { ShardServices } from './shard-services.js';
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
 * POST /cgi-bin/stable_token for one appid.
 *
 * On schedule: a normal call (`force_refresh: false`), which returns the
 * same token until its last five minutes.
 *
 * For a passive refresh whose `stale` is our current value (`rejected`):
 * first a normal call — when someone else forced a new token, WeChat hands
 * it out and no force is spent. Only when WeChat returns the very token the
 * caller saw fail is `force_refresh: true` sent, and only within the budget
 * (20 a day, 30 s apart). Held back or refused by WeChat (45009/45011), the
 * normal call's answer stands and the caller is told why.
 */
export async function fetchStableToken(
  services: ShardServices,
  appid: string,
  secret: string,
  rejected: string | null,
  budgetOf: () => StableForceBudget,
): Promise<{ res: WechatResult; stable: StableOutcome }> {
  const { wechat, settings, log } = services;
  const normal = await wechat.stableToken(appid, secret, false);
  if (rejected === null || !normal.ok || normal.value !== rejected) return { res: normal, stable: { forced: false } };

  const budget = budgetOf();
  const now = Date.now();
  const refusal = budget.refusal(now, {
    dailyLimit: settings.stableForceDailyLimit,
    intervalSeconds: settings.stableForceIntervalSeconds,
  });
  if (refusal) {
    services.emit({ kind: 'stable-force', result: 'skipped' });
    log.warn(
      { appid, type: TaskType.AccessToken, why: refusal },
      'stable_token: force_refresh held back; WeChat still returns the same token',
    );
    return { res: normal, stable: { forced: false, note: `${refusal}; WeChat still returns the same token` } };
  }
  budget.spend(now);
  // The normal call counts as a fetch of its own (metrics and WeChat's quota both see two calls).
  services.emit({ kind: 'fetch', type: TaskType.AccessToken, ok: true, errcode: null });
  const forced = await wechat.stableToken(appid, secret, true);
  if (forced.ok) {
    services.emit({ kind: 'stable-force', result: 'forced' });
    return { res: forced, stable: { forced: true } };
  }
  if (forced.errcode === null || !FORCE_REFUSED.has(forced.errcode)) return { res: forced, stable: { forced: false } };
  // WeChat keeps the authoritative count (ours starts afresh after a restart): believe it.
  budget.refusedByWechat(Date.now(), forced.errcode);
  services.emit({ kind: 'stable-force', result: 'refused' });
  services.emit({ kind: 'fetch', type: TaskType.AccessToken, ok: false, errcode: forced.errcode });
  log.warn(
    { appid, type: TaskType.AccessToken, errcode: forced.errcode },
    'stable_token: force_refresh refused by WeChat; keeping the normal answer',
  );
  return {
    res: normal,
    stable: {
      forced: false,
      note: `WeChat refused stable_token force_refresh (${forced.message}); WeChat still returns the same token`,
    },
  };
}
