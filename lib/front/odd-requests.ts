import type { IncomingMessage, RequestListener, Server, ServerOptions, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { envelope } from './envelope.js';

/**
 * Requests Node's HTTP server would answer itself, without a body (a
 * missing Host: 400; an Expect it does not know: 417) or drop (CONNECT),
 * get the JSON envelope like every other answer.
 */

/** Node's own bodiless 400 for a missing Host is turned off; hostRequired answers it. */
export const SERVER_OPTIONS: ServerOptions = { requireHostHeader: false };

function sendEnvelope(res: ServerResponse, status: number, message: string, close: boolean): void {
  const body = JSON.stringify(envelope(status, message, null));
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...(close ? { Connection: 'close' } : {}),
  });
  res.end(body);
}

/** HTTP/1.1 requires Host (RFC 9112 §3.2); HTTP/1.0 may leave it out. */
export function hostRequired(next: RequestListener): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) {
      sendEnvelope(res, 400, 'The request has no Host header, which HTTP/1.1 requires.', true);
      return;
    }
    next(req, res);
  };
}

export function answerOddRequests(server: Server): void {
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    sendEnvelope(
      res,
      417,
      `Expect: ${String(req.headers.expect).slice(0, 100)} is not supported; only "100-continue" is.`,
      true,
    );
  });
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    const body = JSON.stringify(
      envelope(405, 'CONNECT is not allowed: this server is not a proxy; the API uses GET, POST and DELETE.', null),
    );
    socket.end(
      `HTTP/1.1 405 ${STATUS_CODES[405]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
