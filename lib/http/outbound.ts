import { OutboundError } from '../contract/errors.js';
import { Agent, request } from 'undici';

/**
 * Every outbound call (WeChat, params, notify) goes through here: an undici
 * Agent with explicit connection limits, timeouts on connect, headers and
 * body, no redirects followed, and a cap on the answer's size.
 */
export function createAgent(opts: { connections: number; timeoutMs: number }): Agent {
  return new Agent({
    connections: opts.connections,
    connect: { timeout: Math.min(opts.timeoutMs, 10_000) },
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    keepAliveTimeout: 4_000,
  });
}

export interface OutboundRequest {
  method: 'GET' | 'POST';
  url: string;
  body?: string;
  headers?: Record<string, string>;
  timeoutMs: number;
  maxBytes: number;
}

export interface OutboundResponse {
  status: number;
  text: string;
}

export { OutboundError };

export async function send(agent: Agent, req: OutboundRequest): Promise<OutboundResponse> {
  // One timer, cleared when the answer is in. AbortSignal.timeout() would leave its timer (and a
  // WeakRef and a finalizer) behind for the whole timeout: at 4,000 refreshes/s, 40k of them.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), req.timeoutMs);
  try {
    return await exchange(agent, req, abort.signal);
  } finally {
    clearTimeout(timer);
  }
}

async function exchange(agent: Agent, req: OutboundRequest, signal: AbortSignal): Promise<OutboundResponse> {
  let res;
  try {
    res = await request(req.url, {
      dispatcher: agent,
      method: req.method,
      body: req.body,
      headers: req.headers,
      signal,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
    });
  } catch (e) {
    throw classify(e, signal);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      const b = chunk as Buffer;
      size += b.length;
      if (size > req.maxBytes) {
        res.body.destroy();
        throw new OutboundError('too_large', `answer larger than ${req.maxBytes} bytes`);
      }
      chunks.push(b);
    }
  } catch (e) {
    if (e instanceof OutboundError) throw e;
    throw classify(e, signal);
  }
  return { status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') };
}

function classify(e: unknown, signal: AbortSignal): OutboundError {
  const code = (e as { code?: string }).code ?? '';
  if (signal.aborted || /TIMEOUT/i.test(code)) return new OutboundError('timeout', 'timed out');
  const cause = (e as { cause?: { code?: string } }).cause?.code;
  return new OutboundError('network', `network error ${cause ?? code ?? ''}`.trim());
}

/** Parse a JSON object answer; null when the text is not one. */
export function parseJsonObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
