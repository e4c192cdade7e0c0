import cluster, { Worker } from 'node:cluster';
import { Config, RawOptions, resolveConfig } from '../config.js';
import { ShardCommand, ShardReply } from '../contract/messages.js';
import { createLogger, Logger } from '../log.js';
import { FromGeneration, ToGeneration } from './ipc.js';

const READY_TIMEOUT_MS = 60_000;
const RELEASE_TIMEOUT_MS = 30_000;
/** API.md §8: exit within 10 s of SIGTERM, whatever a generation does. */
const STOP_DEADLINE_MS = 9_500;
const RESPAWN_MIN_MS = 500;
const RESPAWN_MAX_MS = 30_000;

interface Gen {
  id: number;
  worker: Worker;
  build?: string;
}

function waitFor(g: Gen, t: FromGeneration['t'], timeoutMs: number): Promise<FromGeneration> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`generation ${g.id} did not report ${t} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: FromGeneration) => {
      if (m.t === t) done(null, m);
      else if (m.t === 'failed') done(new Error(m.message));
    };
    const onExit = (code: number | null) => done(new Error(`generation ${g.id} exited (code ${code}) before it reported ${t}`));
    function done(err: Error | null, m?: FromGeneration) {
      clearTimeout(timer);
      g.worker.off('message', onMessage);
      g.worker.off('exit', onExit);
      if (err) reject(err);
      else resolve(m!);
    }
    g.worker.on('message', onMessage);
    g.worker.on('exit', onExit);
  });
}

/**
 * The process `bin/wechat-scheduler` starts, for the service's whole life.
 * It runs one front generation at a time, replaces one that dies, and on
 * SIGHUP hands every app over to a new generation built from the code and
 * config now on disk (API.md §8). It routes shard commands of non-owning
 * generations to the owner, so that exactly one generation refreshes an app.
 */
export class Supervisor {
  private readonly log: Logger;
  private nextGenId = 0;
  private owner: Gen | null = null;
  private readonly gens = new Set<Gen>();
  /** Owner commands that arrived while no generation owned the apps (mid hand-over or restart). */
  private readonly queued: Array<{ from: Gen; id: number; appid: string; cmd: ShardCommand }> = [];
  private readonly forwarded = new Map<number, { from: Gen; id: number; to: Gen }>();
  private nextForwardId = 0;
  private reloading: Promise<void> | null = null;
  private reloadAgain = false;
  private stopping = false;
  private respawns = 0;
  /** The port clients reach us on. */
  private port: number;
  /**
   * The port value the living generation passed to listen(): cluster shares
   * a listening socket between processes by that value, so a reload with
   * port 0 must ask for 0 again to get the same socket (not a new port).
   */
  private listenPort: number;

  constructor(private readonly flags: RawOptions, private config: Config) {
    this.log = createLogger(config.logLevel, { role: 'supervisor' });
    this.port = config.port;
    this.listenPort = config.port;
  }

  async start(): Promise<void> {
    // Each generation accepts on the shared socket itself: no extra hop through this process.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: new URL('./generation-main.js', import.meta.url).pathname });
    const g = await this.spawn(this.config, true);
    this.owner = g;
    this.log.info({ port: this.port, host: this.config.host, url: `http://${this.config.host}:${this.port}`, build: g.build, protectedMode: this.config.tokens.length === 0 }, 'listening');
    if (this.config.tokens.length === 0) {
      this.log.warn('no API token configured: protected mode, only loopback clients are served (set --token or WECHAT_SCHEDULER_TOKEN)');
    }
    process.on('SIGHUP', () => this.reload());
    process.on('SIGTERM', () => void this.stop('SIGTERM'));
    process.on('SIGINT', () => void this.stop('SIGINT'));
  }

  /** SIGHUP: re-read the config; start, ready and hand over to a new generation. */
  reload(): void {
    if (this.stopping) return;
    if (this.reloading) {
      this.reloadAgain = true;
      return;
    }
    this.reloading = this.handOver()
      .catch((err: Error) => this.log.error({ err: err.message }, 'reload failed; the running generation keeps serving'))
      .finally(() => {
        this.reloading = null;
        if (this.reloadAgain) {
          this.reloadAgain = false;
          this.reload();
        }
      });
  }

  private async handOver(): Promise<void> {
    let config: Config;
    try {
      config = resolveConfig(this.flags, process.env);
    } catch (err) {
      throw new Error(`config not reloaded: ${(err as Error).message}`);
    }
    // Same socket as before when the port was chosen by the system.
    if (config.port === 0 || config.port === this.port) config = { ...config, port: this.listenPort };
    this.log.info('reload: starting a new generation');
    const next = await this.spawn(config, false);
    const old = this.owner;
    if (old) {
      old.worker.send({ t: 'release' } satisfies ToGeneration);
      try {
        await waitFor(old, 'released', RELEASE_TIMEOUT_MS);
      } catch (err) {
        // A generation that cannot release is stopped outright: two owners must never run.
        this.log.error({ generation: old.id, err: (err as Error).message }, 'old generation did not release; killing it');
        old.worker.process.kill('SIGKILL');
      }
      this.owner = null;
    }
    next.worker.send({ t: 'activate' } satisfies ToGeneration);
    await waitFor(next, 'activated', READY_TIMEOUT_MS);
    this.config = config;
    this.owner = next;
    this.flushQueue();
    this.log.info({ generation: next.id, build: next.build }, 'reload: new generation owns the apps');
    if (old) old.worker.send({ t: 'stop' } satisfies ToGeneration);
  }

  async stop(signal: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info({ signal }, 'stopping');
    const hard = setTimeout(() => {
      this.log.error('generations did not stop in time; killing them');
      for (const g of this.gens) g.worker.process.kill('SIGKILL');
      process.exit(0);
    }, STOP_DEADLINE_MS);
    await Promise.all([...this.gens].map((g) => new Promise<void>((resolve) => {
      g.worker.once('exit', () => resolve());
      g.worker.send({ t: 'stop' } satisfies ToGeneration);
    })));
    clearTimeout(hard);
    this.log.info('stopped');
    process.exit(0);
  }

  private async spawn(config: Config, active: boolean): Promise<Gen> {
    const g: Gen = { id: ++this.nextGenId, worker: cluster.fork() };
    this.gens.add(g);
    g.worker.on('message', (m: FromGeneration) => this.onMessage(g, m));
    g.worker.on('exit', (code, signal) => this.onExit(g, code, signal));
    try {
      await waitFor(g, 'alive', READY_TIMEOUT_MS);
      g.worker.send({ t: 'start', config, active, generation: g.id } satisfies ToGeneration);
      const ready = await waitFor(g, 'ready', READY_TIMEOUT_MS);
      if (ready.t === 'ready') {
        g.build = ready.build;
        this.port = ready.port;
        this.listenPort = config.port;
      }
      return g;
    } catch (err) {
      g.worker.process.kill('SIGKILL');
      throw err;
    }
  }

  private onMessage(from: Gen, m: FromGeneration): void {
    if (m.t === 'owner-command') {
      if (this.owner) this.forward(from, m.id, m.appid, m.cmd);
      else this.queued.push({ from, id: m.id, appid: m.appid, cmd: m.cmd });
    } else if (m.t === 'owner-reply') {
      const f = this.forwarded.get(m.id);
      if (!f) return;
      this.forwarded.delete(m.id);
      this.reply(f.from, f.id, m.reply);
    }
  }

  private forward(from: Gen, id: number, appid: string, cmd: ShardCommand): void {
    const to = this.owner!;
    const fid = ++this.nextForwardId;
    this.forwarded.set(fid, { from, id, to });
    to.worker.send({ t: 'owner-command', id: fid, appid, cmd } satisfies ToGeneration);
  }

  private flushQueue(): void {
    for (const q of this.queued.splice(0)) this.forward(q.from, q.id, q.appid, q.cmd);
  }

  private reply(to: Gen, id: number, reply: ShardReply): void {
    if (to.worker.isConnected()) to.worker.send({ t: 'owner-reply', id, reply } satisfies ToGeneration);
  }

  private onExit(g: Gen, code: number | null, signal: string | null): void {
    this.gens.delete(g);
    for (const [fid, f] of this.forwarded) {
      if (f.to === g) {
        this.forwarded.delete(fid);
        this.reply(f.from, f.id, { kind: 'error', status: 503, message: 'The owner of this app restarted; try again.' });
      }
    }
    if (this.stopping || this.owner !== g) return;
    this.owner = null;
    this.log.error({ generation: g.id, code, signal }, 'front generation died; starting a new one');
    this.respawn();
  }

  /** Replace a dead owner from the store, backing off while replacements keep failing. */
  private respawn(): void {
    const delay = Math.min(RESPAWN_MAX_MS, RESPAWN_MIN_MS * 2 ** this.respawns++);
    setTimeout(() => {
      if (this.stopping || this.owner) return;
      // The dead generation's socket is gone: listen on the port clients know.
      this.spawn({ ...this.config, port: this.port }, true)
        .then((n) => {
          this.owner = n;
          this.respawns = 0;
          this.flushQueue();
          this.log.info({ generation: n.id }, 'front generation replaced');
        })
        .catch((err: Error) => {
          this.log.error({ err: err.message, retryInMs: delay }, 'front generation failed to start');
          this.respawn();
        });
    }, delay);
  }
}

export async function runSupervisor(flags: RawOptions, config: Config): Promise<void> {
  process.umask(0o077);
  await new Supervisor(flags, config).start();
}
