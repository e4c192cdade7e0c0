// Where the simulator pushes a component's events, the way WeChat pushes to
// a third-party platform's "authorization event URL": POST
// <url>?timestamp=&nonce=&msg_signature=&encrypt_type=aes with
// <xml><AppId/><Encrypt/></xml>, encrypted with the platform's
// EncodingAESKey and signed with its token (lib/wechat/msg-crypto.ts).
import { request } from 'undici';
import { MsgCrypto } from '../wechat/msg-crypto.js';
import { randomHex } from './random-hex.js';

export interface PushTarget {
  url: string;
  token: string;
  encodingAesKey: string;
}

export interface PushResult {
  status: number;
  body: string;
}

function xmlText(name: string, value: string): string {
  return `<${name}><![CDATA[${value.replace(/]]>/g, ']]]]><![CDATA[>')}]]></${name}>`;
}

/** The decrypted message: `<xml>` of the event's fields, as WeChat writes them. */
export function eventXml(fields: Record<string, string | number>): string {
  const inner = Object.entries(fields)
    .map(([k, v]) => (typeof v === 'number' ? `<${k}>${v}</${k}>` : xmlText(k, v)))
    .join('');
  return `<xml>${inner}</xml>`;
}

export class PushTargets {
  private readonly targets = new Map<string, PushTarget>();

  set(component: string, target: PushTarget): void {
    new MsgCrypto(target.token, target.encodingAesKey, component); // throws on a bad key
    this.targets.set(component, target);
  }

  get(component: string): PushTarget | undefined {
    return this.targets.get(component);
  }

  /** Encrypts, signs and posts one event; resolves with the receiver's answer. */
  async push(component: string, fields: Record<string, string | number>, now: number): Promise<PushResult> {
    const target = this.targets.get(component);
    if (!target) throw new Error(`No push URL is configured for component ${component}.`);
    const crypto = new MsgCrypto(target.token, target.encodingAesKey, component);
    const encrypt = crypto.encrypt(eventXml(fields));
    const timestamp = String(Math.floor(now / 1000));
    const nonce = String(parseInt(randomHex(4), 16));
    const q = new URLSearchParams({
      timestamp,
      nonce,
      msg_signature: crypto.sign(timestamp, nonce, encrypt),
      encrypt_type: 'aes',
    });
    const url = `${target.url}${target.url.includes('?') ? '&' : '?'}${q}`;
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: `<xml>${xmlText('AppId', component)}${xmlText('Encrypt', encrypt)}</xml>`,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    return { status: res.statusCode, body: await res.body.text() };
  }

  clear(): void {
    this.targets.clear();
  }
}
