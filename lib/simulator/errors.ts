// Every WeChat error the simulator can answer, in one place, with WeChat's
// own codes and messages so clients classify them exactly as in production.

/** A WeChat JSON answer: a success body or `{errcode, errmsg}`. */
export type WeChatBody = Record<string, unknown>;

export interface WeChatError {
  errcode: number;
  errmsg: string;
}

const e = (errcode: number, errmsg: string): WeChatError => ({ errcode, errmsg });

export const ERR = {
  systemBusy: e(-1, 'system error'),
  invalidCredential: e(40001, 'invalid credential, access_token is invalid or not latest'),
  invalidGrantType: e(40002, 'invalid grant_type'),
  invalidAppid: e(40013, 'invalid appid'),
  invalidRefreshToken: e(40030, 'invalid refresh_token'),
  invalidUrl: e(40066, 'invalid url'),
  invalidArgs: e(40097, 'invalid args'),
  invalidAppsecret: e(40125, 'invalid appsecret'),
  accessTokenMissing: e(41001, 'access_token missing'),
  appidMissing: e(41002, 'appid missing'),
  refreshTokenMissing: e(41003, 'refresh_token missing'),
  appsecretMissing: e(41004, 'appsecret missing'),
  accessTokenExpired: e(42001, 'access_token expired'),
  requireGet: e(43001, 'require GET method'),
  requirePost: e(43002, 'require POST method'),
  dailyQuota: e(45009, 'reach max api daily quota limit'),
  minuteQuota: e(45011, 'api minute-quota reach limit mustslower retry next minute'),
  dataFormat: e(47001, 'data format error'),
  clearQuotaLimit: e(48006, 'forbid to clear quota because of reach the limit'),
  verifyTicketExpired: e(61005, 'component_verify_ticket is expired'),
  verifyTicketInvalid: e(61006, 'component_verify_ticket is invalid'),
  authCodeInvalid: e(61009, 'code is invalid'),
  authCodeExpired: e(61010, 'code is expired'),
  authorizerRefreshTokenInvalid: e(61023, 'refresh_token is invalid'),
} as const;

/** The body WeChat sends for an error (always with HTTP 200). */
export function fail(err: WeChatError): WeChatBody {
  return { errcode: err.errcode, errmsg: err.errmsg };
}

/** WeChat's message for a known errcode, used when a fault rule gives none. */
export function messageFor(errcode: number): string {
  const known = Object.values(ERR).find((x) => x.errcode === errcode);
  return known ? known.errmsg : 'simulated fault';
}

/**
 * WeChat ends every errmsg with " rid: " and a request id of three groups of
 * 8 hex digits (e.g. "api unauthorized rid: 5f69fb7e-5d30941b-6bacf6ee").
 */
export function withRid(body: WeChatBody, rid: () => string): WeChatBody {
  if (typeof body.errcode !== 'number' || body.errcode === 0 || typeof body.errmsg !== 'string') return body;
  return { ...body, errmsg: `${body.errmsg} rid: ${rid()}` };
}
