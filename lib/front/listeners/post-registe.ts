import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { Authenticator } from '../auth.js';
import { RequestNote } from '../context.js';
import { Envelope, envelope } from '../envelope.js';
import { register } from '../register.js';
import { FrontServices } from '../front-services.js';
import { parseJsonBody } from '../middleware/json-body.js';
import { errorAnswer } from '../middleware/errors.js';
import { requestLine } from '../middleware/observe.js';
import { requestId } from '../request-id.js';

const PATHS = new Set(['/registe', '/register']);
/** Only these types: both koa-bodyparser and ctx.is('application/json') take them as JSON, and the body is UTF-8. */
const PLAIN_TYPE = /^application\/json(?:; ?charset=utf-8)?$/i;
const CONTENT_TYPE = 'application/json; charset=utf-8';
/** Koa's route label when the body failed to parse: the body parser runs before the router matched. */
const UNROUTED = 'unmatched';

/**
 * The length of a plain registration body, or null when the request is not
 * plain and Koa must answer it: an uncompressed JSON body of a known
 * Content-Length within the limit (else 413 or a body-parser quirk is Koa's).
 */
export function plainBodyLength(headers: IncomingMessage['headers'], limit: number): number | null {
  if (headers['content-encoding'] !== undefined || headers['transfer-encoding'] !== undefined) return null;
  const type = headers['content-type'];
  const length = headers['content-length'];
  if (type === undefined || !PLAIN_TYPE.test(type) || length === undefined || !/^[1-9][0-9]{0,9}$/.test(length))
    return null;
  const n = Number(length);
  return n <= limit ? n : null;
}

/** The raw-body error koa-bodyparser would raise, so errorAnswer gives its sentence. */
const aborted = () => Object.assign(new Error('request aborted'), { status: 400, type: 'request.aborted' });

/** The whole body, or a rejection shaped like raw-body's when the client goes away first. */
function readBody(req: IncomingMessage, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks, length)));
    req.on('error', () => reject(aborted()));
    req.on('close', () => {
      if (!req.complete) reject(aborted());
    });
  });
}

function send(
  res: ServerResponse,
  status: number,
  reqId: string,
  headers: Record<string, string>,
  body: Envelope<unknown>,
): void {
  const text = JSON.stringify(body);
  // Same headers in the same order as Koa: observe's id, errorEnvelope's extras, then type and length.
  res.statusCode = status;
  res.setHeader('X-Request-Id', reqId);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('Content-Type', CONTENT_TYPE);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/**
 * POST /registe is the other request every business system makes (once per
 * app, 100k apps at start-up), so a plain one is answered here, in front of
 * Koa, with the route's own register(): no Koa context, middleware chain or
 * co-body/raw-body/inflation stream. Only what Koa would answer the same
 * way is taken — a valid write token outside protected mode and a plain
 * body (plainBodyLength) — and the answer, counter and log line are the
 * ones Koa gives (observe, errorEnvelope, koa-bodyparser's errors; the
 * Drainer's Connection: close is set before either runs). Anything else
 * goes to Koa untouched, which is only possible before the body is read.
 * bench/registration.ts measures what this buys (bench/results/2026-11-24.md).
 */
export function fastRegistration(
  s: FrontServices,
  auth: Authenticator,
  limit: number,
  koa: RequestListener,
): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '';
    // While the store is gone Koa answers the 503 (store-presence.ts).
    if (req.method !== 'POST' || !PATHS.has(path) || auth.protectedMode || s.storage.problem !== null)
      return koa(req, res);
    const length = plainBodyLength(req.headers, limit);
    if (length === null) return koa(req, res);
    const outcome = auth.check(req.headers.authorization, req.socket.remoteAddress);
    if (!outcome.ok || outcome.rule?.readOnly) return koa(req, res);
    const started = performance.now();
    const reqId = requestId(req.headers['x-request-id']);
    const answer = (
      route: string,
      status: number,
      headers: Record<string, string>,
      body: Envelope<unknown>,
      note?: RequestNote,
    ) => {
      requestLine(s.log, s.metrics, { reqId, method: 'POST', route, status, started, note });
      send(res, status, reqId, headers, body);
    };
    const fail = (route: string, err: unknown) => {
      const a = errorAnswer(err, s.log, 'POST', path);
      answer(route, a.status, a.headers, a.body);
    };
    readBody(req, length).then(
      (raw) => {
        let body: unknown;
        try {
          body = parseJsonBody(raw);
        } catch (err) {
          fail(UNROUTED, err);
          return;
        }
        register(s, body, outcome.rule, reqId).then(
          (note) => answer(path, 200, {}, envelope(200, '', 'success'), note),
          (err: unknown) => fail(path, err),
        );
      },
      (err: unknown) => fail(UNROUTED, err),
    );
  };
}
