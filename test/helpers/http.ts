// Real HTTP calls to the server under test and to the simulator.
import { waitFor } from './poll.js';
export type Json = Record<string, unknown>;

export interface Reply {
  status: number;
  headers: Headers;
  /** Parsed JSON, or `{ text }` when the body is not JSON. */
  body: Json;
  text: string;
  /** The URL that answered (differs from the one asked when a redirect was followed). */
  url: string;
}

export interface CallOptions {
  body?: unknown;
  /** Sent as-is (no JSON encoding) when a string. */
  raw?: string;
  headers?: Record<string, string>;
  token?: string;
}

export async function call(base: string, method: string, path: string, o: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...o.headers };
  let body: string | undefined;
  if (o.raw !== undefined) body = o.raw;
  else if (o.body !== undefined) {
    body = JSON.stringify(o.body);
    headers['content-type'] ??= 'application/json';
  }
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let parsed: Json;
  try {
    parsed = JSON.parse(text) as Json;
  } catch {
    parsed = { text };
  }
  return { status: res.status, headers: res.headers, body: parsed, text, url: res.url };
}

/** Called with every answer a client gets (helpers/contract.ts holds a server's answers to its OpenAPI description). */
export type AnswerCheck = (method: string, path: string, reply: Reply) => void;

/** A client bound to one base URL (and optionally one API token), its answers checked by `check`. */
export function client(base: string, token?: string, check?: AnswerCheck) {
  const c = async (method: string, path: string, o: CallOptions = {}) => {
    const reply = await call(base, method, path, { token, ...o });
    // After a followed redirect the answer is the target's.
    check?.(method, reply.url && reply.url !== base + path ? new URL(reply.url).pathname : path, reply);
    return reply;
  };
  return {
    base,
    call: c,
    get: (path: string, o?: CallOptions) => c('GET', path, o),
    post: (path: string, body?: unknown, o?: CallOptions) => c('POST', path, { ...o, body }),
    del: (path: string, o?: CallOptions) => c('DELETE', path, o),
    register: (body: unknown, o?: CallOptions) => c('POST', '/registe', { ...o, body }),
    /** Polls GET /task until it answers 200 (up to waitFor's deadline), and returns the value. */
    awaitValue(appid: string, type: number, query = ''): Promise<string> {
      return waitFor(`a value for ${appid}/${type}${query}`, async () => {
        const r = await c('GET', `/task/${appid}/${type}${query}`);
        return r.status === 200 ? (r.body.result as string) : undefined;
      });
    },
    /** The value of GET /task, or throws with the envelope when there is none. */
    async value(appid: string, type: number, query = ''): Promise<string> {
      const r = await c('GET', `/task/${appid}/${type}${query}`);
      if (r.status !== 200) throw new Error(`GET /task/${appid}/${type}${query} → ${r.status} ${r.text}`);
      return r.body.result as string;
    },
  };
}
export type Client = ReturnType<typeof client>;
