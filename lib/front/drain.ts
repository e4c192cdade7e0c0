import type { Server } from 'node:http';

/** After the listener closes, idle keep-alive sockets get this long to send one more request. */
const IDLE_GRACE_MS = 1_000;

/**
 * Retires an HTTP server without failing a client (DESIGN.md "Reload"):
 * stop accepting, answer every later request with `Connection: close`,
 * close idle sockets after a grace period, and cut stragglers only at the
 * hard deadline.
 */
export class Drainer {
  private draining = false;

  constructor(private readonly server: Server) {}

  /** True once draining started: responses must carry `Connection: close`. */
  get active(): boolean {
    return this.draining;
  }

  drain(deadlineMs: number): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const idle = setInterval(() => this.server.closeIdleConnections(), IDLE_GRACE_MS);
    const hard = setTimeout(() => this.server.closeAllConnections(), deadlineMs);
    return closed.finally(() => {
      clearInterval(idle);
      clearTimeout(hard);
    });
  }
}
