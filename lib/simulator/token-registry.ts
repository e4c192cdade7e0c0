// Every token the simulator hands out, and WeChat's validity model for them:
// a token lives until its expires_in runs out, but once a newer token is
// issued for the same owner it survives only a grace period (WeChat keeps the
// old and the new access_token usable together for 5 minutes).
import { randomHex } from './random-hex.js';

export const TOKEN_KINDS = [
  'access_token',
  'stable_access_token',
  'jsapi_ticket',
  'oauth_access_token',
  'component_access_token',
  'authorizer_access_token',
] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

const PREFIX: Record<TokenKind, string> = {
  access_token: 'AT',
  stable_access_token: 'SAT',
  jsapi_ticket: 'TICKET',
  oauth_access_token: 'OAT',
  component_access_token: 'CAT',
  authorizer_access_token: 'AAT',
};

export interface TokenRecord {
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
  private issuedSinceSweep = 0;

  issue(kind: TokenKind, owner: string, lifetimeSeconds: number, graceSeconds: number, now: number): TokenRecord {
    const previous = this.newest.get(key(kind, owner));
    if (previous) previous.supersededUntil = now + graceSeconds * 1000;
    const record: TokenRecord = {
      value: this.uniqueValue(kind),
      kind,
      owner,
      issuedAt: now,
      expiresAt: now + lifetimeSeconds * 1000,
    };
    this.byValue.set(record.value, record);
    this.newest.set(key(kind, owner), record);
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

  clear(): void {
    this.byValue.clear();
    this.newest.clear();
  }

  private uniqueValue(kind: TokenKind): string {
    for (;;) {
      const value = `${PREFIX[kind]}_${randomHex(24)}`;
      if (!this.byValue.has(value)) return value;
    }
  }

  /** Keeps memory bounded when a benchmark issues millions of tokens. */
  private sweep(now: number): void {
    this.issuedSinceSweep = 0;
    for (const [value, r] of this.byValue) {
      const deadline = Math.min(r.expiresAt, r.supersededUntil ?? Infinity);
      if (deadline + FORGET_AFTER_MS < now && this.newest.get(key(r.kind, r.owner)) !== r) this.byValue.delete(value);
    }
  }
}

function key(kind: TokenKind, owner: string): string {
  return `${kind}\u0000${owner}`;
}
