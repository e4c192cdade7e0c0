// The real binary, spawned as users run it: `bin/wechat-scheduler -p 0 …`.
// Every process started here is stopped by stopAll() (call it in test.after)
// and, as a last resort, when the test process exits.
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkAnswer } from './contract.js';
import { client, Client } from './http.js';
import { waitFor } from './poll.js';

export const BIN = fileURLToPath(new URL('../../bin/wechat-scheduler', import.meta.url));

export interface ServerOptions {
  /** Base URL of the simulator (--wechat-api). */
  wechatApi: string;
  dataDir?: string;
  /** Extra flags, e.g. ['--token', 't1']. */
  args?: string[];
  env?: Record<string, string>;
  workers?: number;
  /** API token the returned client sends. */
  token?: string;
  /** Another copy of bin/wechat-scheduler to run (e.g. a built tree copied to a temp dir). */
  bin?: string;
  /** Flags for node itself, before the script. */
  nodeArgs?: string[];
}

export interface RunningServer {
  url: string;
  port: number;
  pid: number;
  dataDir: string;
  proc: ChildProcess;
  api: Client;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Parsed JSON log lines so far. */
  logs(): Array<Record<string, unknown>>;
  /**
   * Waits until every line the HTTP thread wrote before now has been read:
   * a refused request's line, written after them by the same thread, is
   * awaited. Lines of other threads and processes keep no order with it.
   */
  frontLinesIn(): Promise<void>;
  /** Send a signal and wait for the exit; resolves with the exit code (null when killed by signal). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  signal(signal: NodeJS.Signals): void;
  exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();
let barriers = 0;
const dirs: string[] = [];

process.on('exit', () => {
  for (const p of running) {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

export function tempDir(prefix = 'ws-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const dataDir = o.dataDir ?? join(tempDir(), 'data');
  const args = [
    o.bin ?? BIN,
    '-p',
    '0',
    '--host',
    '127.0.0.1',
    '--data-dir',
    dataDir,
    '--wechat-api',
    o.wechatApi,
    '--workers',
    String(o.workers ?? 2),
    ...(o.args ?? []),
  ];
  // Own process group, so that stopAll() reaches the generation processes too.
  const proc = spawn(process.execPath, [...(o.nodeArgs ?? []), ...args], {
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code) => {
      running.delete(proc);
      resolve(code);
    }),
  );
  const logs = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return {};
        }
      });
  const ended = outputEnded(proc, exited);
  let gone = false;
  void exited.then(() => (gone = true));
  const listening = await waitFor(
    'the server to listen',
    () => {
      if (gone) throw new Error(`server exited before listening:\n${out}`);
      return logs().find((l) => l.msg === 'listening');
    },
    30_000,
    50,
  ).catch((e: Error) => {
    if (!gone) process.kill(-proc.pid!, 'SIGKILL');
    throw new Error(`${e.message}\n${out}`);
  });
  const port = listening.port as number;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    pid: proc.pid!,
    dataDir,
    proc,
    api: client(url, o.token, checkAnswer),
    exited,
    output: () => out,
    logs,
    async frontLinesIn() {
      const id = `lines-in-${++barriers}`;
      await fetch(`${url}/lines-in`, { headers: { 'x-request-id': id } }).then((r) => r.arrayBuffer());
      await waitFor(`the log line of request ${id}`, () => logs().some((l) => l.reqId === id));
    },
    signal: (s) => process.kill(proc.pid!, s),
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (gone) {
        await ended;
        return exited;
      }
      process.kill(proc.pid!, signal);
      const timer = setTimeout(() => {
        try {
          process.kill(-proc.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      await ended;
      return code;
    },
  };
}

/**
 * Resolves once the process has exited and its output pipes are read to the
 * end: 'exit' can come before the last lines, and a generation process left
 * behind (the supervisor killed alone) holds the pipes open, hence the cap.
 */
function outputEnded(proc: ChildProcess, exited: Promise<unknown>, capMs = 5_000): Promise<void> {
  const closed = new Promise<void>((r) => proc.once('close', () => r()));
  return exited.then(() => Promise.race([closed, new Promise<void>((r) => setTimeout(r, capMs))]));
}

/** SIGKILL every process group started by this test file, and remove temp dirs. */
export async function stopAll(): Promise<void> {
  const waits = [...running].map(
    (p) =>
      new Promise<void>((r) => {
        p.once('exit', () => r());
        try {
          process.kill(-p.pid!, 'SIGKILL');
        } catch {
          r();
        }
      }),
  );
  await Promise.all(waits);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** The binary run to its exit (a start that must be refused): exit code and everything it printed. */
export function runToExit(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => process.kill(-proc.pid!, 'SIGKILL'), timeoutMs);
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code) => {
      clearTimeout(timer);
      running.delete(proc);
      resolve(code);
    }),
  );
  return outputEnded(proc, exited).then(async () => ({ code: await exited, out }));
}
