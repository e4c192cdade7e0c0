/**
 * WeChat's answers meaning "this access_token is not (or no longer) valid":
 * 40001 invalid or replaced, 40014 not an access_token, 42001 expired.
 */
export const REJECTED_TOKEN_ERRCODES: ReadonlySet<number> = new Set([40001, 40014, 42001]);

function errcodeOf(x: unknown): unknown {
  if (typeof x !== 'object' || x === null) return undefined;
  const o = x as { errcode?: unknown; code?: unknown };
  // SDKs throw WeChat's errcode as `errcode` or as `code` (co-wechat-api, wechat-api).
  return o.errcode ?? o.code;
}

/** Whether a WeChat answer, or an error an SDK threw for one, says the token was rejected. */
export function isRejectedToken(x: unknown): boolean {
  const code = errcodeOf(x);
  return typeof code === 'number' && REJECTED_TOKEN_ERRCODES.has(code);
}
