// Everything one simulator instance knows. Endpoints and the admin API read
// and change it; nothing is shared between two simulators.
import { AppRegistry } from './apps.js';
import { AuthorizerRegistry } from './authorizers.js';
import { PushTargets, type PushResult } from './push-targets.js';
import { QuotaResets } from './quota-resets.js';
import { randomHex } from './random-hex.js';
import { defaultConfig, type SimConfig } from './config.js';
import { FaultQueue } from './faults.js';
import { RefreshTokenRegistry } from './refresh-tokens.js';
import { ForceRefreshQuota } from './stable-quota.js';
import { Stats } from './stats.js';
import { TokenRegistry, type TokenKind, type TokenRecord } from './token-registry.js';
import { VerifyTicketRegistry } from './verify-tickets.js';

export class SimulatorState {
  readonly config: SimConfig;
  readonly apps = new AppRegistry();
  readonly tokens = new TokenRegistry();
  readonly refreshTokens = new RefreshTokenRegistry();
  readonly verifyTickets = new VerifyTicketRegistry();
  readonly faults = new FaultQueue();
  readonly stats = new Stats();
  readonly forceQuota = new ForceRefreshQuota();
  readonly authorizers = new AuthorizerRegistry(this.refreshTokens);
  readonly pushTargets = new PushTargets();
  readonly quotaResets = new QuotaResets();

  constructor(expiresIn?: number) {
    this.config = defaultConfig(expiresIn);
  }

  now(): number {
    return Date.now();
  }

  /**
   * Lifetime for a new token: jsapi tickets use ticketExpiresIn when set,
   * then the app's own expiresIn, then the global one.
   */
  lifetime(kind: TokenKind, appid: string): number {
    if ((kind === 'jsapi_ticket' || kind === 'wx_card_ticket') && this.config.ticketExpiresIn !== null)
      return this.config.ticketExpiresIn;
    return this.apps.get(appid)?.expiresIn ?? this.config.expiresIn;
  }

  /** Issues a token for `owner`, its lifetime taken from `appid`'s settings. */
  issue(kind: TokenKind, owner: string, appid: string): TokenRecord {
    return this.tokens.issue(kind, owner, this.lifetime(kind, appid), this.config.graceSeconds, this.now());
  }

  /** A request id for errmsgs, WeChat's shape: three groups of 8 hex digits. */
  rid(): string {
    const h = randomHex(12);
    return `${h.slice(0, 8)}-${h.slice(8, 16)}-${h.slice(16)}`;
  }

  /** A new verify ticket (valid for WeChat), pushed to the component's event URL. */
  async pushVerifyTicket(component: string): Promise<{ ticket: string; push: PushResult }> {
    const ticket = `ticket@@@${randomHex(24)}`;
    this.verifyTickets.mark(ticket, 'valid');
    const now = this.now();
    const push = await this.pushTargets.push(
      component,
      {
        AppId: component,
        CreateTime: Math.floor(now / 1000),
        InfoType: 'component_verify_ticket',
        ComponentVerifyTicket: ticket,
      },
      now,
    );
    return { ticket, push };
  }

  /** Forgets everything but the global config. */
  reset(): void {
    this.apps.clear();
    this.tokens.clear();
    this.refreshTokens.clear();
    this.verifyTickets.clear();
    this.faults.clear();
    this.stats.clear();
    this.forceQuota.clear();
    this.authorizers.clear();
    this.pushTargets.clear();
    this.quotaResets.clear();
  }
}

/**
 * Seconds left, as WeChat's expires_in (never negative), rounded down: a
 * client that trusts it must never believe a token lives longer than it does,
 * or it serves a dead one. A fresh token is asked at its issue time and
 * reports its whole lifetime.
 */
export function secondsLeft(record: TokenRecord, now: number): number {
  return Math.max(0, Math.floor((record.expiresAt - now) / 1000));
}
