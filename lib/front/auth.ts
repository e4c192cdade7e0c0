import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiTokenRule } from '../config.js';
import { ApiError } from '../contract/errors.js';
import { isLoopback, ProxyTrust } from './client-address.js';

export { isLoopback };

/** A token's digest, so that comparisons take the same time whatever the lengths. */
const digest = (s: string) => createHash('sha256').update(s).digest();

/** At most this many distinct valid Authorization headers are remembered. */
const VERIFIED_MAX = 1024;

export interface AuthOutcome {
  ok: boolean;
  rule?: ApiTokenRule;
  error?: ApiError;
}

/**
 * docs/api.md §7: Bearer tokens compared in constant time; with none configured,
 * protected mode serves loopback clients only.
 */
export class Authenticator {
  private readonly rules: Array<{ rule: ApiTokenRule; digest: Buffer }>;
  /**
   * Authorization headers that already passed the constant-time check, so a
   * client sending the same header on every request skips the sha256 (a
   * measurable share of a GET /task; bench/results/2026-11-24.md). Only valid headers
   * are kept: a wrong token always takes the full constant-time path, and
   * the map lookup compares nothing secret-dependent until the whole header
   * string matches one already proven valid. Bounded; cleared when full.
   */
  private readonly verified = new Map<string, AuthOutcome>();
  private readonly proxies: ProxyTrust;

  constructor(rules: ApiTokenRule[], trustedProxy: readonly string[] = []) {
    this.rules = rules.map((rule) => ({ rule, digest: digest(rule.token) }));
    this.proxies = new ProxyTrust(trustedProxy);
  }

  get protectedMode(): boolean {
    return this.rules.length === 0;
  }

  /**
   * `forwardedFor` (X-Forwarded-For) counts only when the peer is a trusted
   * proxy of the config file; it matters only in protected mode.
   */
  check(authorization: string | undefined, remoteAddress: string | undefined, forwardedFor?: string): AuthOutcome {
    if (this.protectedMode) {
      if (isLoopback(this.proxies.clientAddress(remoteAddress, forwardedFor))) return { ok: true };
      return {
        ok: false,
        error: new ApiError(
          403,
          'protected_mode',
          'No API token is configured, so only loopback clients are served; start the server with --token <secret> (or WECHAT_SCHEDULER_TOKEN, or "tokens" in the --config file) and send Authorization: Bearer <secret>.',
        ),
      };
    }
    const known = authorization === undefined ? undefined : this.verified.get(authorization);
    if (known) return known;
    const m = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
    if (!m?.[1]) return { ok: false, error: unauthorized('This server needs Authorization: Bearer <token>.') };
    const given = digest(m[1]);
    let found: ApiTokenRule | undefined;
    // Compare against every rule, so the time taken does not tell which one matched.
    for (const r of this.rules) if (timingSafeEqual(given, r.digest) && !found) found = r.rule;
    if (!found) return { ok: false, error: unauthorized('The API token is not valid.') };
    const outcome = { ok: true, rule: found };
    if (this.verified.size >= VERIFIED_MAX) this.verified.clear();
    this.verified.set(authorization!, outcome);
    return outcome;
  }
}

function unauthorized(message: string): ApiError {
  return new ApiError(401, 'unauthorized', message, { 'WWW-Authenticate': 'Bearer' });
}

/** Methods a read-only token may use (docs/api.md §7: "read-only (GET only)"). */
export function isReadMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

/** 403 for a read-only token on anything but a read, before the body is even read. */
export function checkMethod(rule: ApiTokenRule | undefined, method: string): void {
  if (rule?.readOnly && !isReadMethod(method))
    throw new ApiError(403, 'read_only', 'This API token is read-only: it may only GET.');
}

/** /metrics shows every app's figures, so a token limited to some appids may not read it. */
export function checkUnscoped(rule: ApiTokenRule | undefined, what: string): void {
  if (rule?.appids)
    throw new ApiError(
      403,
      'out_of_scope',
      `This API token is limited to some apps, so it may not read ${what}; use a token without appids.`,
    );
}

/** 403 when a scoped or read-only token reaches outside its scope. */
export function checkScope(rule: ApiTokenRule | undefined, appid: string | null, writes: boolean): void {
  if (!rule) return;
  if (writes && rule.readOnly) throw new ApiError(403, 'read_only', 'This API token is read-only: it may only GET.');
  if (appid !== null && rule.appids && !rule.appids.includes(appid)) {
    throw new ApiError(403, 'out_of_scope', `This API token may not access app ${appid}.`);
  }
}
