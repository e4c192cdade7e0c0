// Every token the simulator hands out, and WeChat's validity model for them:
// a token lives until its expires_in runs out, but once a newer token is
// issued for the same owner it survives only a grace period (WeChat keeps the
// old and the new access_token usable together for 5 minutes).
import { HeapItem, MinHeap } from '../util/min-heap.js';
import { randomHex } from './random-hex.js';

export const TOKEN_KINDS = [
  'access_token',
  'stable_access_token',
  'jsapi_ticket',
  'wx_card_ticket',
  'oauth_access_token',
  'component_access_token',
  'authorizer_access_token',
] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

const PREFIX: Record<TokenKind, string> = {
  access_token: 'AT',
  stable_access_token: 'SAT',
  jsapi_ticket: 'TICKET',
  wx_card_ticket: 'CARD',
  oauth_access_token: 'OAT',
  component_access_token: 'CAT',
  authorizer_access_token: 'AAT',
};

export interface TokenRecord extends HeapItem {
  value: string;
  kind: TokenKind;
  owner: string;
  issuedAt: number;
  expiresAt: number;
  /** End of the grace period, set once a newer token replaced this one. */
  supersededUntil?: number;
}

export type TokenCheck =
  | { status: 'valid'; record: TokenRecord }
  | { status: 'expired'; record: TokenRecord }
  | { status: 'invalid'; record?: TokenRecord };

/** Forgotten tokens answer "invalid" instead of "expired"; ten minutes is plenty for tests. */
const FORGET_AFTER_MS = 600_000;
const SWEEP_EVERY = 1000;

export class TokenRegistry {
  private readonly byValue = new Map<string, TokenRecord>();
  private readonly newest = new Map<string, TokenRecord>();
  /**
   * Replaced tokens by the end of their validity. Only a replaced token is
   * ever forgotten (the newest one of an owner never is), and its deadline is
   * known once it is replaced, so a sweep pops what is due instead of
   * walking every token.
   */
  private readonly replaced = new MinHeap<TokenRecord>();
  private issuedSinceSweep = 0;

  issue(kind: TokenKind, owner: string, lifetimeSeconds: number, graceSeconds: number, now: number): TokenRecord {
    const k = key(kind, owner);
    const previous = this.newest.get(k);
    if (previous) {
      previous.supersededUntil = now + graceSeconds * 1000;
      this.replaced.set(previous, deadline(previous));
    }
    const record: TokenRecord = {
      value: this.uniqueValue(kind),
      kind,
      owner,
      issuedAt: now,
      expiresAt: now + lifetimeSeconds * 1000,
      heapIndex: -1,
    };
    this.byValue.set(record.value, record);
    this.newest.set(k, record);
    if (++this.issuedSinceSweep >= SWEEP_EVERY) this.sweep(now);
    return record;
  }

  check(value: string, now: number): TokenCheck {
    const record = this.byValue.get(value);
    if (!record) return { status: 'invalid' };
    const cut = record.supersededUntil ?? Infinity;
    if (now < Math.min(record.expiresAt, cut)) return { status: 'valid', record };
    // Replaced before it ran out: WeChat says "not latest" (40001), not "expired".
    return cut < record.expiresAt ? { status: 'invalid', record } : { status: 'expired', record };
  }

  latest(kind: TokenKind, owner: string): TokenRecord | undefined {
    return this.newest.get(key(kind, owner));
  }

  /** The newest token of its owner lives `lifetimeSeconds` from `now` (an OAuth2 refresh of an unexpired token). */
  extend(record: TokenRecord, lifetimeSeconds: number, now: number): void {
    record.expiresAt = now + lifetimeSeconds * 1000;
  }

  /** Ends a replaced token's grace period at `at` if it ran longer (a forced stable_token refresh). */
  cutOff(record: TokenRecord, at: number): void {
    if ((record.supersededUntil ?? Infinity) <= at) return;
    record.supersededUntil = at;
    this.replaced.set(record, deadline(record));
  }

  clear(): void {
    this.byValue.clear();
    this.newest.clear();
    this.replaced.clear();
  }

  private uniqueValue(kind: TokenKind): string {
    for (;;) {
      const value = `${PREFIX[kind]}_${randomHex(24)}`;
      if (!this.byValue.has(value)) return value;
    }
  }

  /**
   * Keeps memory bounded when a benchmark issues millions of tokens: forgets
   * every replaced token whose validity ended FORGET_AFTER_MS ago.
   */
  private sweep(now: number): void {
    this.issuedSinceSweep = 0;
    while (this.replaced.peekKey() + FORGET_AFTER_MS < now) {
      const r = this.replaced.pop()!;
      if (this.byValue.get(r.value) === r && this.newest.get(key(r.kind, r.owner)) !== r) this.byValue.delete(r.value);
    }
  }
}

/** When a token stops being valid: it runs out, or its grace period ends. */
function deadline(r: TokenRecord): number {
  return Math.min(r.expiresAt, r.supersededUntil ?? Infinity);
}

function key(kind: TokenKind, owner: string): string {
  return `${kind}\u0000${owner}`;
}
