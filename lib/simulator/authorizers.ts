// The accounts that authorized each component (third-party platform), their
// refresh tokens and the one-time authorization codes WeChat hands out with
// an authorized event. As on WeChat, an authorizer's refresh token stays the
// same until the account authorizes again, which issues a new one and
// revokes the old (61023 for a client still holding it).
import { randomHex } from './random-hex.js';
import type { RefreshTokenRegistry } from './refresh-tokens.js';

export interface Authorization {
  authorizerAppid: string;
  refreshToken: string;
  /** Epoch seconds. */
  authTime: number;
}

interface Code {
  component: string;
  authorizerAppid: string;
  expiresAt: number;
  used: boolean;
}

/** Authorization codes live an hour (AuthorizationCodeExpiredTime) and are good for one api_query_auth. */
export const CODE_LIFETIME_MS = 3600_000;

export class AuthorizerRegistry {
  private readonly byComponent = new Map<string, Map<string, Authorization>>();
  private readonly codes = new Map<string, Code>();

  constructor(private readonly refreshTokens: RefreshTokenRegistry) {}

  /**
   * The account authorizes the component (again): a new refresh token, the
   * previous one revoked, and a fresh authorization code.
   */
  authorize(
    component: string,
    authorizerAppid: string,
    now: number,
    refreshToken?: string,
  ): { auth: Authorization; code: string } {
    const auths = this.byComponent.get(component) ?? new Map<string, Authorization>();
    this.byComponent.set(component, auths);
    const previous = auths.get(authorizerAppid);
    if (previous) this.refreshTokens.seed(previous.refreshToken, { kind: 'authorizer', revoked: true });
    const rt = refreshToken ?? `ART_${randomHex(24)}`;
    this.refreshTokens.seed(rt, { kind: 'authorizer', revoked: false });
    const auth = { authorizerAppid, refreshToken: rt, authTime: Math.floor(now / 1000) };
    auths.set(authorizerAppid, auth);
    const code = `queryauthcode@@@${randomHex(24)}`;
    this.codes.set(code, { component, authorizerAppid, expiresAt: now + CODE_LIFETIME_MS, used: false });
    return { auth, code };
  }

  /** The account withdrew its authorization: its refresh token stops working. */
  unauthorize(component: string, authorizerAppid: string): boolean {
    const auths = this.byComponent.get(component);
    const auth = auths?.get(authorizerAppid);
    if (!auths || !auth) return false;
    this.refreshTokens.seed(auth.refreshToken, { kind: 'authorizer', revoked: true });
    auths.delete(authorizerAppid);
    return true;
  }

  /** The authorization a code was issued for; 'invalid' (unknown, used, another component's) or 'expired'. */
  redeem(code: string, component: string, now: number): Authorization | 'invalid' | 'expired' {
    const c = this.codes.get(code);
    if (!c || c.used || c.component !== component) return 'invalid';
    if (now >= c.expiresAt) return 'expired';
    c.used = true;
    return this.byComponent.get(component)?.get(c.authorizerAppid) ?? 'invalid';
  }

  /** One page, in the order the accounts authorized; and how many there are. */
  list(component: string, offset: number, count: number): { total: number; page: Authorization[] } {
    const all = [...(this.byComponent.get(component)?.values() ?? [])];
    return { total: all.length, page: all.slice(offset, offset + count) };
  }

  clear(): void {
    this.byComponent.clear();
    this.codes.clear();
  }
}
