// Child processes a benchmark starts: the real binary (server or simulator)
// and the baselines, each in its own process group so one kill reaches its
// whole tree. Everything started here is killed when the bench exits.
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, waitFor } from '../../test/helpers/poll.js';

export const BIN = fileURLToPath(new URL('../../bin/wechat-scheduler', import.meta.url));
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Proc {
  proc: ChildProcess;
  pid: number;
  port: number;
  url: string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** SIGKILL the whole process group (a crash, as kill -9 does it). */
  kill9(): Promise<void>;
  /** SIGTERM the leader and wait. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
const dirs: string[] = [];
process.on('exit', () => {
  for (const p of running) {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

export function tempDir(prefix = 'ws-bench-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/**
 * Spawn `node <args>` in its own process group and wait for a JSON log line
 * whose msg matches `ready` and that carries the port. Later output is read
 * and dropped (a full pipe would block the child).
 */
export async function spawnNode(
  args: string[],
  ready: RegExp,
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<Proc> {
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(proc);
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code) => {
      running.delete(proc);
      resolve(code);
    }),
  );
  let buf = '';
  let errOut = '';
  proc.stderr!.on('data', (d: Buffer) => {
    if (errOut.length < 20_000) errOut += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${args.join(' ')} did not get ready in ${timeoutMs} ms\n${buf}${errOut}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          const j = JSON.parse(line) as { msg?: string; port?: number };
          if (j.msg && ready.test(j.msg) && typeof j.port === 'number') {
            clearTimeout(timer);
            proc.stdout!.off('data', onData);
            proc.stdout!.resume(); // keep draining, never parse again
            resolve(j.port);
            return;
          }
        } catch {
          /* not JSON */
        }
      }
      if (buf.length > 1_000_000) buf = buf.slice(-10_000);
    };
    proc.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited (${code}) before it was ready\n${buf}${errOut}`));
    });
  });
  const pid = proc.pid!;
  return {
    proc,
    pid,
    port,
    url: `http://127.0.0.1:${port}`,
    exited,
    async kill9() {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      await exited;
    },
    async stop() {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      const t = setTimeout(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** `bin`: another checkout's bin/wechat-scheduler (for before/after runs); default this one. */
export function startSimulator(expiresIn?: number, bin = BIN, nodeArgs: string[] = []): Promise<Proc> {
  const args = [...nodeArgs, bin, 'simulate', '-p', '0', ...(expiresIn ? ['--expires-in', String(expiresIn)] : [])];
  return spawnNode(args, /^simulator listening$/);
}

export interface ServerOptions {
  wechatApi: string;
  dataDir: string;
  token: string;
  workers: number;
  extra?: string[];
  /** Another checkout's bin/wechat-scheduler (for before/after runs); default this one. */
  bin?: string;
  env?: Record<string, string>;
  /** Flags for node itself (the generation process inherits them through cluster). */
  nodeArgs?: string[];
}

export function startServer(o: ServerOptions): Promise<Proc> {
  const args = [
    ...(o.nodeArgs ?? []),
    o.bin ?? BIN,
    '-p',
    '0',
    '--host',
    '127.0.0.1',
    '--data-dir',
    o.dataDir,
    '--wechat-api',
    o.wechatApi,
    '--token',
    o.token,
    '--workers',
    String(o.workers),
    ...(o.extra ?? []),
  ];
  return spawnNode(args, /^listening$/, o.env);
}

/** A baseline script under bench/baselines, run with tsx like the bench itself. */
export function startBaseline(file: string, env: Record<string, string>): Promise<Proc> {
  return spawnNode(['--import', 'tsx', join(ROOT, 'bench', 'baselines', file)], /^listening$/, env);
}

export { sleep };

/** Polls `cond` every `everyMs` until it holds (the tests' waitFor); answers the seconds it took, or throws after `timeoutS`. */
export async function waitUntil(
  what: string,
  cond: () => Promise<boolean>,
  timeoutS: number,
  everyMs = 250,
): Promise<number> {
  const t0 = Date.now();
  await waitFor(what, cond, timeoutS * 1000, everyMs);
  return (Date.now() - t0) / 1000;
}
