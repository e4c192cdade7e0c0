import { createHmac, timingSafeEqual } from 'node:crypto';

// True when a notify really comes from wechat-scheduler and is fresh.
// headers: Node's req.headers; rawBody: the body bytes exactly as received.
export function verifyNotify(secret, headers, rawBody, maxAgeSeconds = 300) {
  const ts = headers['x-scheduler-timestamp'];
  const sig = headers['x-scheduler-signature'];
  if (!/^\d+$/.test(ts ?? '') || typeof sig !== 'string') return false;
  if (Math.abs(Date.now() / 1000 - Number(ts)) > maxAgeSeconds) return false;
  const mac = createHmac('sha256', secret).update(`${ts}.`).update(rawBody).digest('hex');
  const given = Buffer.from(sig);
  const expected = Buffer.from(`sha256=${mac}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
