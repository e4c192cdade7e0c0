import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';

/**
 * Retires an HTTP server without failing a client (a reload, docs/operations.md):
 * stop accepting, answer every later request with `Connection: close`,
 * let idle sockets end by the server's own keep-alive timeout, and cut
 * stragglers only at the hard deadline.
 */
export class Drainer {
  private draining = false;

  constructor(private readonly server: Server) {
    // Runs before any request handler, so every answer started after the
    // drain began says `Connection: close`, whichever handler writes it.
    server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
      if (this.draining) res.setHeader('Connection', 'close');
    });
  }

  drain(deadlineMs: number): Promise<void> {
    this.draining = true;
    // Not server.close(): since Node 19 that also closes every idle keep-alive
    // socket at once, and under load "idle" includes sockets whose client is
    // writing its next request right now, which then sees ECONNRESET (measured:
    // 16 resets per reload with 16 clients). Closing only the listener lets
    // those requests arrive and be answered with `Connection: close`.
    const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(this.server, () => resolve()));
    // Nor closeIdleConnections(): a client may be reusing its idle socket at
    // that very moment (a test saw "fetch failed" right after a reload). The
    // server's keep-alive timeout ends idle sockets instead: clients were told
    // it (`Keep-Alive: timeout=5`) and undici closes its side a second before.
    const hard = setTimeout(() => this.server.closeAllConnections(), deadlineMs);
    return closed.finally(() => clearTimeout(hard));
  }
}
