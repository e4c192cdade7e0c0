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
  /** Whether a used refresh token is revoked and replaced by a new one. */
  rotateRefreshTokens: boolean;
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
    open: true,
    stableForceDailyLimit: 20,
    stableForceIntervalSeconds: 30,
  };
}

const KEYS = [
  'expiresIn', 'ticketExpiresIn', 'graceSeconds', 'rotateRefreshTokens',
  'open', 'stableForceDailyLimit', 'stableForceIntervalSeconds',
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
  next.open = optionalBoolean(body, 'open') ?? next.open;
  Object.assign(config, next);
}

function nonNull(body: JsonObject, key: string, min: number): number | undefined {
  const v = optionalInteger(body, key, min);
  if (v === null) throw new BadInput(`Field "${key}" cannot be null.`);
  return v;
}
