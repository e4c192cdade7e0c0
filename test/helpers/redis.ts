// A real redis-server for a test, on a free port, in a temporary directory,
// with AOF on and fsync always (as docs/cluster.md tells operators). Stopped
// by stop() (call it in test.after) and, as a last resort, when the test
// process exits.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';

export type PlainRedis = ReturnType<typeof createClient>;
import { waitFor } from './poll.js';
import { freePort } from './ports.js';

export const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';

/** Why Redis tests cannot run here, or null when redis-server is installed. */
export function redisMissing(): string | null {
  const r = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${REDIS_SERVER} is not installed (apt-get install redis-server)`;
}

export interface RunningRedis {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** kill -9, as a crash would. */
  kill(): Promise<void>;
  /** Start again on the same port and directory (after kill): the AOF brings the data back. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** A plain client for looking inside (with the server's password, if it has one); close it with `await c.close()`. */
  client(password?: string): Promise<PlainRedis>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => p.once('exit', () => r()));
}

/** Start redis-server on `port`; resolves once it accepts connections, with null when the port was taken. */
async function launch(port: number, dir: string, extra: string[]): Promise<ChildProcess | null> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes'];
  const proc = spawn(REDIS_SERVER, [...args, '--appendfsync', 'always', '--dir', dir, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const state = await waitFor(
    `redis-server on port ${port} to accept connections`,
    () => (proc.exitCode !== null ? 'exited' : /Ready to accept connections/.test(out) ? 'ready' : false),
    20_000,
    20,
  );
  if (state === 'ready') return proc;
  running.delete(proc);
  if (/Address already in use/.test(out)) return null;
  throw new Error(`redis-server did not start: ${out}`);
}

/** `extra`: more redis-server arguments, e.g. ['--requirepass', 'pw']. */
export async function startRedis(extra: string[] = []): Promise<RunningRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'ws-redis-'));
  let port = 0;
  let proc: ChildProcess | null = null;
  // A port taken between freePort() and the bind is retried with another one.
  for (let attempt = 0; !proc; attempt++) {
    if (attempt > 3) throw new Error('redis-server found no free port');
    port = await freePort();
    proc = await launch(port, dir, extra);
  }
  let current: ChildProcess = proc;
  const url = `redis://127.0.0.1:${port}`;
  return {
    port,
    url,
    dir,
    async kill() {
      current.kill('SIGKILL');
      await exited(current);
      running.delete(current);
    },
    async restart() {
      await exited(current);
      running.delete(current);
      // The same port, so that clients reconnect to where they were.
      const again = await waitFor('the port to be free for redis-server again', () => launch(port, dir, extra));
      current = again;
    },
    async stop() {
      current.kill('SIGTERM');
      await exited(current);
      running.delete(current);
      rmSync(dir, { recursive: true, force: true });
    },
    async client(password?: string): Promise<PlainRedis> {
      const c: PlainRedis = createClient({ url, password });
      c.on('error', () => undefined);
      await c.connect();
      return c;
    },
  };
}
