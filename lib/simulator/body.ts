// Reads a request body as JSON whatever its Content-Type: WeChat accepts a
// JSON body sent as text/plain or with no type, so the simulator must too.
import type { IncomingMessage } from 'node:http';

export type JsonBody = { ok: true; value: unknown } | { ok: false; reason: string };

const LIMIT_BYTES = 1024 * 1024;

/** Bodies read before the Koa routes got the request (see keepBody). */
const kept = new WeakMap<IncomingMessage, JsonBody>();

/**
 * Hands a body already read to a later readJsonBody of the same request:
 * the WeChat fast path reads a POST body, then leaves the call to the Koa
 * routes if a fault rule arrived meanwhile.
 */
export function keepBody(req: IncomingMessage, body: JsonBody): void {
  kept.set(req, body);
}

/** `value` is undefined for an empty body. */
export async function readJsonBody(req: IncomingMessage): Promise<JsonBody> {
  const done = kept.get(req);
  if (done) return done;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    // Keep draining past the limit so the client is not cut off mid-write.
    if (size <= LIMIT_BYTES) chunks.push(buf);
  }
  if (size > LIMIT_BYTES) return { ok: false, reason: 'The body is larger than 1 MiB.' };
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, reason: 'The body is not valid JSON.' };
  }
}
