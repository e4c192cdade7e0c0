// Refresh tokens for OAuth2 (sns) and open-platform authorizers. A token is
// bound to the first appid that uses it; with rotation on, every use revokes
// it and hands out a successor, so a client that does not keep the newest
// one is caught at its next refresh.
import { randomHex } from './random-hex.js';

export const REFRESH_KINDS = ['oauth', 'authorizer'] as const;
export type RefreshKind = (typeof REFRESH_KINDS)[number];

export interface RefreshRecord {
  kind: RefreshKind;
  revoked: boolean;
  openid?: string;
  appid?: string;
}

export interface RefreshSeed {
  kind: RefreshKind;
  revoked?: boolean;
  openid?: string;
}

export class RefreshTokenRegistry {
  private readonly tokens = new Map<string, RefreshRecord>();

  seed(token: string, seed: RefreshSeed): RefreshRecord {
    const record = this.tokens.get(token) ?? { kind: seed.kind, revoked: false };
    record.kind = seed.kind;
    if (seed.revoked !== undefined) record.revoked = seed.revoked;
    if (seed.openid !== undefined) record.openid = seed.openid;
    this.tokens.set(token, record);
    return record;
  }

  /**
   * The record for a usable token, or null when WeChat would reject it
   * (revoked, another kind, another app's, or unknown in closed mode).
   */
  accept(token: string, kind: RefreshKind, appid: string, open: boolean): RefreshRecord | null {
    if (token === '') return null;
    let record = this.tokens.get(token);
    if (!record) {
      if (!open) return null;
      record = { kind, revoked: false };
      this.tokens.set(token, record);
    }
    if (record.kind !== kind || record.revoked) return null;
    if (record.appid !== undefined && record.appid !== appid) return null;
    record.appid = appid;
    return record;
  }

  /** The refresh token to return after a successful use of `token`. */
  successor(token: string, record: RefreshRecord, rotate: boolean): string {
    if (!rotate) return token;
    record.revoked = true;
    const next = `${record.kind === 'oauth' ? 'ORT' : 'ART'}_${randomHex(24)}`;
    this.tokens.set(next, { ...record, revoked: false });
    return next;
  }

  clear(): void {
    this.tokens.clear();
  }
}
