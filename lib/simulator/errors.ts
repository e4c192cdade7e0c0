// Every WeChat error the simulator can answer, in one place, with WeChat's
// own codes and messages so clients classify them exactly as in production.

/** A WeChat JSON answer: a success body or `{errcode, errmsg}`. */
export type WeChatBody = Record<string, string | number | boolean>;

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
  invalidArgs: e(40097, 'invalid args'),
  invalidAppsecret: e(40125, 'invalid appsecret'),
  appidMissing: e(41002, 'appid missing'),
  refreshTokenMissing: e(41003, 'refresh_token missing'),
  appsecretMissing: e(41004, 'appsecret missing'),
  accessTokenExpired: e(42001, 'access_token expired'),
  dailyQuota: e(45009, 'reach max api daily quota limit'),
  minuteQuota: e(45011, 'api minute-quota reach limit mustslower retry next minute'),
  dataFormat: e(47001, 'data format error'),
  verifyTicketExpired: e(61005, 'component_verify_ticket is expired'),
  verifyTicketInvalid: e(61006, 'component_verify_ticket is invalid'),
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
