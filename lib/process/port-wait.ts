import { createServer } from 'node:net';

/** A busy port is tried this many times, 100 ms apart, before the first generation is started. */
const ATTEMPTS = 30;
const PAUSE_MS = 100;

/**
 * Wait (about 3 s at most) until `port` on `host` can be bound. Right after a
 * kill -9 the previous service's processes may still hold the port for a
 * moment.
 *
 * This runs here, in the cluster primary, because the primary is the process
 * that binds a shared socket: a generation that retries its own listen() after
 * EADDRINUSE is handed the same socket key again, which Node 24's cluster code
 * rejects with an internal assertion that ends the process. So a generation
 * listens once, and the waiting is done before it is started. Only call this
 * while no generation holds the socket (the probe would find our own socket busy).
 * Returns whether the port was seen free; if not, the generation's listen
 * reports the error.
 */
export async function waitForFreePort(port: number, host: string): Promise<boolean> {
  if (port === 0) return true;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    if (await canBind(port, host)) return true;
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
  }
  return false;
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    // exclusive: bound by this process itself, never through the cluster's shared sockets.
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code !== 'EADDRINUSE'));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}
