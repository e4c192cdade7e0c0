// Ports for tests that need one before a process binds it.
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A port nothing listens on right now (the system's pick for port 0, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Where the system picks ports for port 0 and for outgoing connections (Linux's default when unreadable). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2_048 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A free port for a server a test starts with `-p <port>`. Taken below the
 * ephemeral range: a port from there can be handed to another test's
 * port-0 listener or outgoing connection between this check and the
 * server's bind (seen as EADDRINUSE on a busy machine). Random, so that
 * test files running at once do not pick the same one.
 */
export async function portToName(): Promise<number> {
  const low = ephemeralLow();
  for (;;) {
    const port = randomInt(Math.max(1_024, low - 12_000), low);
    if (await canListen(port)) return port;
  }
}
