/**
 * Secrets out of text that is kept or logged (a WeChat errmsg, an error
 * message): every spelling in which a secret can come back — as given,
 * percent-encoded (either hex case), form-encoded (`+` for space) and
 * JSON-escaped. Run it on the whole text, before any truncation, or a cut
 * through a secret leaves its first part behind.
 */
const MASK = '***';

function spellings(secret: string): string[] {
  const percent = encodeURIComponent(secret);
  const form = new URLSearchParams({ s: secret }).toString().slice(2);
  const json = JSON.stringify(secret).slice(1, -1);
  const lowerHex = (s: string) => s.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
  const all = new Set([secret, percent, form, json, lowerHex(percent), lowerHex(form), percent.replace(/%20/g, '+')]);
  // Longest first, so that a spelling containing another is masked whole.
  return [...all].filter((s) => s !== '').sort((a, b) => b.length - a.length);
}

export function scrubSecrets(text: string, secrets: ReadonlyArray<string | null | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const s of spellings(secret)) if (out.includes(s)) out = out.split(s).join(MASK);
  }
  return out;
}

/** Query parameters that carry a credential in WeChat's and our callers' URLs. */
const SECRET_PARAM =
  /([?&;](?:secret|appsecret|component_appsecret|access_token|component_access_token|refresh_token|authorizer_refresh_token|ticket|component_verify_ticket|token|key|sign|signature)=)[^&#\s"']*/gi;

/** A URL's credential parameters masked wherever a URL appears in a message. */
export function redactUrlSecrets(text: string): string {
  return text.replace(SECRET_PARAM, `$1${MASK}`);
}
