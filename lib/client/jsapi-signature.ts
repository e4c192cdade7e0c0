import { createHash, randomBytes } from 'node:crypto';

/** What the JS-SDK's `wx.config` needs besides jsApiList. */
export interface JsapiSignature {
  appId: string;
  /** Seconds since the epoch, as WeChat's examples give it. */
  timestamp: number;
  nonceStr: string;
  signature: string;
}

/**
 * The JS-SDK signature: SHA-1 of `jsapi_ticket=…&noncestr=…&timestamp=…&url=…`
 * (keys in that sorted order, values raw, not URL-encoded). The URL is the
 * page's, without its `#` fragment, as WeChat requires.
 */
export function signJsapi(
  appId: string,
  ticket: string,
  url: string,
  timestamp: number,
  nonceStr = randomBytes(8).toString('hex'),
): JsapiSignature {
  const page = url.split('#')[0] ?? url;
  const text = `jsapi_ticket=${ticket}&noncestr=${nonceStr}&timestamp=${timestamp}&url=${page}`;
  return { appId, timestamp, nonceStr, signature: createHash('sha1').update(text).digest('hex') };
}
