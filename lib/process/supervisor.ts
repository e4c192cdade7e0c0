import cluster, { Worker } from 'node:cluster';
import { Config, RawOptions, resolveConfig, thisProcess } from '../config.js';
import { OPTIONS } from '../options/table.js';
import { ShardCommand, ShardReply } from '../contract/messages.js';
import { createLogger, Logger } from '../log.js';
import { backoffMs } from '../timing.js';
import { DataDirLock } from './data-dir-lock.js';
import { prepareDataDir } from './data-dir.js';
import { generationExecArgv } from './generation-v8-flags.js';
import { FromGeneration, releaseBoundMs, ToGeneration } from './ipc.js';
import { waitForFreePort } from './port-wait.js';

const READY_TIMEOUT_MS = 60_000;
/** docs/api.md §8: exit within 10 s of SIGTERM, whatever a generation does. */
const STOP_DEADLINE_MS = 9_500;
const RESPAWN_MIN_MS = 500;
const RESPAWN_MAX_MS = 30_000;

interface Gen {
  id: number;
  worker: Worker;
  build?: string;
  exited: Promise<void>;
}

const alive = (g: Gen) => g.worker.isConnected() && !g.worker.isDead();

function waitFor(g: Gen, t: FromGeneration['t'], timeoutMs: number): Promise<FromGeneration> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`generation ${g.id} did not report ${t} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (m: FromGeneration) => {
      if (m.t === t) done(null, m);
      else if (m.t === 'failed') done(new Error(m.message));
    };
    const onExit = (code: number | null) =>
      done(new Error(`generation ${g.id} exited (code ${code}) before it reported ${t}`));
    function done(err: Error | null, m?: FromGeneration) {
      clearTimeout(timer);
      g.worker.off('message', onMessage);
      g.worker.off('exit', onExit);
      if (err) reject(err);
      else resolve(m!);
    }
    if (g.worker.isDead()) return done(new Error(`generation ${g.id} is not running`));
    g.worker.on('message', onMessage);
    g.worker.on('exit', onExit);
  });
}

/**
 * The process `bin/wechat-scheduler` starts, for the service's whole life.
 * It runs one front generation at a time, replaces one that dies, and on
 * SIGHUP hands every app over to a new generation built from the code and
 * config now on disk (docs/api.md §8). It routes shard commands of non-owning
 * generations to the owner, so that exactly one generation refreshes an app.
 *
 * Ownership changes (reload, replacing a dead generation) run one at a time:
 * at every moment there is one owner, or none while commands wait in a queue.
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
  /** The chain of ownership changes; each starts when the previous one ended. */
  private transitions: Promise<void> = Promise.resolve();
  /** A reload is waiting in the chain: a further SIGHUP is served by it (it reads the files when it starts). */
  private reloadQueued = false;
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

  /** `lock` is held here so that it lives as long as the supervisor. */
  constructor(
    private readonly flags: RawOptions,
    private config: Config,
    private readonly lock?: DataDirLock,
    private readonly secretFlags: readonly string[] = [],
  ) {
    this.log = createLogger(config.logLevel, { role: 'supervisor' });
    this.port = config.port;
    this.listenPort = config.port;
  }

  async start(): Promise<void> {
    // Each generation accepts on the shared socket itself: no extra hop through this process.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    // No args: a generation gets its settings over IPC, and its command line would show --token to every user.
    cluster.setupPrimary({
      exec: new URL('./generation-main.js', import.meta.url).pathname,
      execArgv: generationExecArgv(process.execArgv),
      args: [],
    });
    // Before anything else: Node's default action for SIGHUP is to exit, and a
    // `systemctl reload` may come while the first generation is still starting
    // (the reload then runs once it is up: the start is the first transition).
    process.on('SIGHUP', () => this.reload());
    process.on('SIGTERM', () => void this.stop('SIGTERM'));
    process.on('SIGINT', () => void this.stop('SIGINT'));
    const started = (async () => {
      const g = await this.spawn(this.config, true);
      this.setOwner(g);
      this.log.info(
        {
          port: this.port,
          host: this.config.host,
          url: `http://${this.config.host}:${this.port}`,
          build: g.build,
          protectedMode: this.config.tokens.length === 0,
        },
        'listening',
      );
      for (const flag of this.secretFlags) {
        this.log.warn(
          { flag },
          `a secret was given on the command line (${flag}), which other users of this host could read before it was hidden; ${secretFlagInstead(flag)}`,
        );
      }
      if (this.config.tokens.length === 0) {
        this.log.warn(
          'no API token configured: protected mode, only loopback clients are served (set --token or WECHAT_SCHEDULER_TOKEN)',
        );
      }
    })();
    this.transitions = started.catch(() => undefined);
    // A SIGTERM during the start ends it; stop() exits 0 once the generation is gone.
    await started.catch((err: Error) => (this.stopping ? new Promise<void>(() => undefined) : Promise.reject(err)));
  }

  /** SIGHUP: re-read the config; start, ready and hand over to a new generation. */
  reload(): void {
    if (this.stopping || this.reloadQueued) return;
    this.reloadQueued = true;
    this.serialise(async () => {
      this.reloadQueued = false;
      await this.handOver().catch((err: Error) =>
        this.log.error({ err: err.message }, 'reload failed; the running generation keeps serving'),
      );
    });
  }

  async stop(signal: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info({ signal, generations: this.gens.size }, 'stopping');
    const hard = setTimeout(() => {
      this.log.error('generations did not stop in time; killing them');
      for (const g of this.gens) g.worker.process.kill('SIGKILL');
      process.exit(0);
    }, STOP_DEADLINE_MS);
    await Promise.all(
      [...this.gens].map((g) => {
        this.send(g, { t: 'stop' });
        return g.exited;
      }),
    );
    clearTimeout(hard);
    this.lock?.release();
    this.log.info({ signal }, 'stopped');
    process.exit(0);
  }

  private serialise(job: () => Promise<void>): void {
    this.transitions = this.transitions
      .then(job)
      .catch((err: Error) => this.log.error({ err: err.message }, 'supervisor step failed'));
  }

  private readConfig(): Config {
    let config: Config;
    try {
      config = resolveConfig(this.flags, process.env);
    } catch (err) {
      throw new Error(`config not reloaded: ${(err as Error).message}`);
    }
    // Same socket as before when the port was chosen by the system.
    if (config.port === 0 || config.port === this.port) config = { ...config, port: this.listenPort };
    if (config.dataDir !== this.config.dataDir) {
      // A new generation on another data dir would start without the apps: that needs a restart.
      this.log.warn(
        { dataDir: this.config.dataDir, ignored: config.dataDir },
        'data-dir cannot change on reload; restart the service to move it',
      );
      config = { ...config, dataDir: this.config.dataDir };
    }
    return config;
  }

  private async handOver(): Promise<void> {
    if (this.stopping) return;
    const config = this.readConfig();
    this.log.info('reload: starting a new generation');
    // The old generation keeps owning and serving until the new one is ready.
    const next = await this.spawn(config, false);
    if (this.stopping) return;
    const old = this.owner;
    // From here on, owner commands wait in the queue instead of reaching a generation that is letting go.
    this.owner = null;
    if (old) await this.release(old, releaseBoundMs(this.config));
    try {
      await this.activate(next);
    } catch (err) {
      this.log.error({ generation: next.id, err: (err as Error).message }, 'new generation failed to take the apps');
      await this.kill(next);
      await this.restore(old);
      throw err;
    }
    this.config = config;
    this.setOwner(next);
    this.log.info({ generation: next.id, build: next.build, port: this.port }, 'reload: new generation owns the apps');
    if (old) this.retire(old);
  }

  /** Let a released generation drain and exit; one that has not exited after the stop budget is killed. */
  private retire(g: Gen): void {
    this.send(g, { t: 'stop' });
    const timer = setTimeout(() => {
      if (g.worker.isDead()) return;
      this.log.error({ generation: g.id }, 'retired generation did not exit in time; killing it');
      void this.kill(g);
    }, STOP_DEADLINE_MS + 5_000);
    timer.unref();
    void g.exited.then(() => clearTimeout(timer));
  }

  /** After a failed hand-over: give the apps back to the old generation, or start a fresh one. */
  private async restore(old: Gen | null): Promise<void> {
    if (this.stopping) return;
    if (old && alive(old)) {
      try {
        await this.activate(old);
        this.setOwner(old);
        this.log.warn({ generation: old.id }, 'the previous generation owns the apps again');
        return;
      } catch (err) {
        this.log.error(
          { generation: old.id, err: (err as Error).message },
          'previous generation failed to take the apps back',
        );
        await this.kill(old);
      }
    }
    this.scheduleRespawn();
  }

  private async release(g: Gen, timeoutMs: number): Promise<void> {
    if (!alive(g)) return;
    this.send(g, { t: 'release' });
    try {
      await waitFor(g, 'released', timeoutMs);
    } catch (err) {
      // A generation that cannot let go is stopped outright: two owners must never run.
      this.log.error({ generation: g.id, err: (err as Error).message }, 'old generation did not release; killing it');
      await this.kill(g);
    }
  }

  private async activate(g: Gen): Promise<void> {
    this.send(g, { t: 'activate' });
    await waitFor(g, 'activated', READY_TIMEOUT_MS);
  }

  private async kill(g: Gen): Promise<void> {
    if (g.worker.isDead()) return;
    g.worker.process.kill('SIGKILL');
    await g.exited;
  }

  private setOwner(g: Gen): void {
    this.owner = g;
    for (const q of this.queued.splice(0)) this.forward(q.from, q.id, q.appid, q.cmd);
  }

  private async spawn(config: Config, active: boolean): Promise<Gen> {
    // With no generation alive the shared socket is closed: a busy port is someone else's, maybe on its way out.
    if (![...this.gens].some(alive)) await waitForFreePort(config.port, config.host);
    const worker = cluster.fork();
    const g: Gen = {
      id: ++this.nextGenId,
      worker,
      exited: new Promise((resolve) => worker.once('exit', () => resolve())),
    };
    this.gens.add(g);
    worker.on('message', (m: FromGeneration) => this.onMessage(g, m));
    worker.on('exit', (code, signal) => this.onExit(g, code, signal));
    // A send to a process that just died emits 'error'; unhandled, it would end the supervisor.
    worker.on('error', (err: Error) =>
      this.log.warn({ generation: g.id, err: err.message }, 'generation channel error'),
    );
    try {
      await waitFor(g, 'alive', READY_TIMEOUT_MS);
      this.send(g, { t: 'start', config, flags: this.flags, facts: thisProcess(), active, generation: g.id });
      const ready = await waitFor(g, 'ready', READY_TIMEOUT_MS);
      if (ready.t === 'ready') {
        g.build = ready.build;
        this.port = ready.port;
        this.listenPort = config.port;
      }
      return g;
    } catch (err) {
      await this.kill(g);
      throw err;
    }
  }

  private send(g: Gen, msg: ToGeneration): void {
    if (alive(g)) g.worker.send(msg);
  }

  private onMessage(from: Gen, m: FromGeneration): void {
    if (m.t === 'owner-command') {
      if (this.owner) this.forward(from, m.id, m.appid, m.cmd);
      else this.queued.push({ from, id: m.id, appid: m.appid, cmd: m.cmd });
    } else if (m.t === 'owner-reply') {
      const f = this.forwarded.get(m.id);
      if (!f) return;
      this.forwarded.delete(m.id);
      this.send(f.from, { t: 'owner-reply', id: f.id, reply: m.reply });
    }
  }

  private forward(from: Gen, id: number, appid: string, cmd: ShardCommand): void {
    const to = this.owner!;
    const fid = ++this.nextForwardId;
    this.forwarded.set(fid, { from, id, to });
    this.send(to, { t: 'owner-command', id: fid, appid, cmd });
  }

  private reply(to: Gen, id: number, reply: ShardReply): void {
    this.send(to, { t: 'owner-reply', id, reply });
  }

  private onExit(g: Gen, code: number | null, signal: string | null): void {
    this.gens.delete(g);
    for (const [fid, f] of this.forwarded) {
      if (f.to === g) {
        this.forwarded.delete(fid);
        this.reply(f.from, f.id, {
          kind: 'error',
          reason: 'unavailable',
          message: 'The owner of this app restarted; try again.',
        });
      }
    }
    if (this.stopping || this.owner !== g) return;
    this.owner = null;
    this.log.error({ generation: g.id, code, signal }, 'front generation died; starting a new one');
    this.scheduleRespawn();
  }

  /** Replace a dead owner from the store, backing off while replacements keep failing. */
  private scheduleRespawn(): void {
    const delay = backoffMs(++this.respawns, RESPAWN_MAX_MS, RESPAWN_MIN_MS);
    setTimeout(
      () =>
        this.serialise(async () => {
          // A reload may have put a new owner in place meanwhile.
          if (this.stopping || this.owner) return;
          try {
            // The dead generation's socket is gone: listen on the port clients know.
            const n = await this.spawn({ ...this.config, port: this.port }, true);
            this.setOwner(n);
            this.respawns = 0;
            this.log.info({ generation: n.id, build: n.build }, 'front generation replaced');
          } catch (err) {
            this.log.error(
              { err: (err as Error).message, retryInMs: backoffMs(this.respawns + 1, RESPAWN_MAX_MS, RESPAWN_MIN_MS) },
              'front generation failed to start',
            );
            if (!this.stopping) this.scheduleRespawn();
          }
        }),
      delay,
    );
  }
}

/** `secretFlags`: secret flags that were given on the command line (warned about once started). */
export async function runSupervisor(
  flags: RawOptions,
  config: Config,
  secretFlags: readonly string[] = [],
): Promise<void> {
  process.umask(0o077);
  prepareDataDir(config.dataDir);
  const lock = DataDirLock.acquire(config.dataDir);
  await new Supervisor(flags, config, lock, secretFlags).start();
}

/** Where a secret given as `flag` belongs instead: its environment variable or its config-file key. */
function secretFlagInstead(flag: string): string {
  const found = Object.entries(OPTIONS).find(([, spec]) => 'flag' in spec && spec.flag.spec.includes(flag));
  if (!found) return 'set it in the environment or the --config file instead';
  const [name, spec] = found;
  return `set ${'env' in spec ? spec.env : 'it'} or "${name}" in the --config file instead`;
}
