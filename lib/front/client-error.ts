import { Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { envelope } from './envelope.js';

/** What Node's HTTP parser refused, as a status and a sentence (docs/api.md §2: every answer is the envelope). */
function verdict(code: string | undefined): [number, string] {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'The request line and headers are larger than the server accepts (16 KiB).'];
    case 'HPE_INVALID_METHOD':
      return [405, 'This HTTP method is not known here; the API uses GET, POST and DELETE.'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'The request took too long to arrive.'];
    default:
      return [400, 'The request is not valid HTTP/1.1.'];
  }
}

/**
 * Requests that never reach Koa (malformed request lines, NUL bytes, huge
 * headers, unknown methods) get the JSON envelope too, then the connection
 * is closed: after a parse error nothing more on it can be trusted.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, message] = verdict(err.code);
    const body = JSON.stringify(envelope(status, message, null));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
