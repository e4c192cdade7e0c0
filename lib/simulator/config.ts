// Global simulator settings, changed at runtime through POST /__sim/config.
// They survive /__sim/reset so a test can reset state without re-tuning.
import { BadInput, asObject, onlyKeys, optionalBoolean, optionalInteger, type JsonObject } from './admin-input.js';

export interface SimConfig {
  /** Lifetime in seconds of every token kind unless an app or kind overrides it. */
  expiresIn: number;
  /** Lifetime of jsapi tickets; null = use expiresIn. */
  ticketExpiresIn: number | null;
  /** How long a token stays valid after a newer one was issued for its owner. */
  graceSeconds: number;
  /** Whether a used OAuth2 refresh token is revoked and replaced by a new one. */
  rotateRefreshTokens: boolean;
  /** Whether api_authorizer_token rotates the authorizer refresh token (WeChat does not: it changes on re-authorization only). */
  rotateAuthorizerRefreshTokens: boolean;
  /** clear_quota resets per appid per calendar month (WeChat: 10), then 48006. */
  clearQuotaMonthlyLimit: number;
  /** Whether errmsgs end with " rid: …" like WeChat's. */
  rid: boolean;
  /** Open mode: unknown appids, refresh tokens and verify tickets are accepted. */
  open: boolean;
  /** stable_token force_refresh calls allowed per appid per day (WeChat: 20). */
  stableForceDailyLimit: number;
  /** Minimum seconds between two force_refresh calls of one appid (WeChat: 30). */
  stableForceIntervalSeconds: number;
}

export function defaultConfig(expiresIn = 7200): SimConfig {
  return {
    expiresIn,
    ticketExpiresIn: null,
    graceSeconds: 300,
    rotateRefreshTokens: true,
    rotateAuthorizerRefreshTokens: false,
    clearQuotaMonthlyLimit: 10,
    rid: true,
    open: true,
    stableForceDailyLimit: 20,
    stableForceIntervalSeconds: 30,
  };
}

const KEYS = [
  'expiresIn',
  'ticketExpiresIn',
  'graceSeconds',
  'rotateRefreshTokens',
  'rotateAuthorizerRefreshTokens',
  'clearQuotaMonthlyLimit',
  'rid',
  'open',
  'stableForceDailyLimit',
  'stableForceIntervalSeconds',
] as const;

/** Applies a /__sim/config body to `config`; validates everything before changing anything. */
export function applyConfig(config: SimConfig, input: unknown): void {
  const body: JsonObject = asObject(input, '/__sim/config');
  onlyKeys(body, KEYS, '/__sim/config');
  const next: SimConfig = { ...config };
  next.expiresIn = nonNull(body, 'expiresIn', 1) ?? next.expiresIn;
  const ticket = optionalInteger(body, 'ticketExpiresIn', 1);
  if (ticket !== undefined) next.ticketExpiresIn = ticket;
  next.graceSeconds = nonNull(body, 'graceSeconds', 0) ?? next.graceSeconds;
  next.stableForceDailyLimit = nonNull(body, 'stableForceDailyLimit', 0) ?? next.stableForceDailyLimit;
  next.stableForceIntervalSeconds = nonNull(body, 'stableForceIntervalSeconds', 0) ?? next.stableForceIntervalSeconds;
  next.rotateRefreshTokens = optionalBoolean(body, 'rotateRefreshTokens') ?? next.rotateRefreshTokens;
  next.rotateAuthorizerRefreshTokens =
    optionalBoolean(body, 'rotateAuthorizerRefreshTokens') ?? next.rotateAuthorizerRefreshTokens;
  next.clearQuotaMonthlyLimit = nonNull(body, 'clearQuotaMonthlyLimit', 0) ?? next.clearQuotaMonthlyLimit;
  next.rid = optionalBoolean(body, 'rid') ?? next.rid;
  next.open = optionalBoolean(body, 'open') ?? next.open;
  Object.assign(config, next);
}

function nonNull(body: JsonObject, key: string, min: number): number | undefined {
  const v = optionalInteger(body, key, min);
  if (v === null) throw new BadInput(`Field "${key}" cannot be null.`);
  return v;
}
