// Checks a token a client presents (access_token for getticket,
// component_access_token for api_authorizer_token) the way WeChat does.
import { ERR, type WeChatError } from '../errors.js';
import type { SimulatorState } from '../state.js';
import type { TokenKind, TokenRecord } from '../token-registry.js';

export function isWeChatError(x: TokenRecord | WeChatError): x is WeChatError {
  return 'errcode' in x;
}

/**
 * The record of a currently valid token of one of `kinds` (and of `owner`,
 * when given); else 41001 when none is given, 42001 when it merely ran
 * out, 40001 for anything else.
 */
export function requireToken(
  sim: SimulatorState,
  value: string,
  kinds: readonly TokenKind[],
  owner?: string,
): TokenRecord | WeChatError {
  if (value === '') return ERR.accessTokenMissing;
  const check = sim.tokens.check(value, sim.now());
  const record = check.record;
  if (!record || !kinds.includes(record.kind) || (owner !== undefined && record.owner !== owner)) {
    return ERR.invalidCredential;
  }
  if (check.status === 'valid') return record;
  return check.status === 'expired' ? ERR.accessTokenExpired : ERR.invalidCredential;
}

/** Token kinds an official account's API calls accept (both token APIs issue them). */
export const ACCESS_TOKEN_KINDS: readonly TokenKind[] = ['access_token', 'stable_access_token'];
