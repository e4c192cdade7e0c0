import { TaskRow } from '../store/rows.js';
import { RedisClient, RedisStore } from '../store/redis-store.js';
import { Clock, systemClock } from '../timing.js';

export interface ChangeFeedOptions {
  store: RedisStore;
  /**
   * Called for every app changed since the last read, in version order, with
   * its task rows as stored now (no secrets); rows empty: the app is gone.
   * An app may be reported again with the same rows: treat it as a refresh.
   */
  onChanged(appid: string, rows: TaskRow[]): void;
  /** Start after this version (what the caller already loaded); 0, the default, reports every app. */
  fromVersion?: number;
  /** Read the changes this often even without a message (a missed message is found this late). */
  pollMs?: number;
  /** Apps read per step. */
  batch?: number;
  clock?: Clock;
  /** A failed read or a throwing onChanged, as a password-free sentence. */
  onError?(message: string): void;
}

/**
 * One instance's view of every write in the cluster. Each write announces
 * its app on a pub/sub channel and records it under a new version in the
 * changes sorted set (one entry per app, at its latest version). The feed
 * wakes on a message and at least every `pollMs`, and reads what changed
 * after the last version it saw. Pub/sub only wakes it early: a message
 * lost (disconnected subscriber) costs at most one poll, because the sorted
 * set, not the message, says what changed. On every (re)connection of its
 * subscriber it catches up at once; if Redis' version went backwards (a
 * Redis that lost data), it starts over from version 0: a full resync.
 */
export class ChangeFeed {
  private seen: number;
  private lastRead: number;
  private reading = false;
  private again = false;
  private stopped = false;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly clock: Clock;
  private readonly batch: number;
  private idle: Promise<void> = Promise.resolve();

  private constructor(
    private readonly o: ChangeFeedOptions,
    private readonly sub: RedisClient,
  ) {
    this.clock = o.clock ?? systemClock;
    this.seen = o.fromVersion ?? 0;
    this.lastRead = this.clock.now();
    this.batch = o.batch ?? 1000;
    this.timer = setInterval(() => this.kick(), o.pollMs ?? 500);
    this.timer.unref();
  }

  /** Subscribe (on a connection of its own) and start with a first read. */
  static async start(o: ChangeFeedOptions): Promise<ChangeFeed> {
    const sub = o.store.newConnection();
    const feed = new ChangeFeed(o, sub);
    sub.on('ready', () => feed.kick());
    try {
      await sub.connect();
      await sub.subscribe(o.store.keys.changesChannel, () => feed.kick());
    } catch (e) {
      await feed.stop();
      throw e;
    }
    feed.kick();
    return feed;
  }

  /** The version up to which every change has been reported. */
  version(): number {
    return this.seen;
  }

  /** Milliseconds since the last successful read of the changes. */
  lagMs(): number {
    return this.clock.now() - this.lastRead;
  }

  /** Resolves when no read is under way (one started meanwhile is waited for too). */
  async settled(): Promise<void> {
    while (this.reading) await this.idle;
  }

  /** Read now, or right after the read under way (messages arriving meanwhile make one read). */
  kick(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    this.idle = this.readAll().finally(() => {
      this.reading = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async readAll(): Promise<void> {
    const { store, onChanged } = this.o;
    try {
      // Redis lost writes (restarted without its data): what we saw may be gone; read everything again.
      if ((await store.version()) < this.seen) this.seen = 0;
      for (;;) {
        const { appids, version } = await store.changesSince(this.seen, this.batch);
        if (appids.length > 0) {
          const rows = await store.tasksOf(appids);
          for (const appid of appids) {
            if (this.stopped) return;
            try {
              onChanged(appid, rows.get(appid) ?? []);
            } catch (e) {
              this.o.onError?.(`the change of app ${appid} was not applied: ${(e as Error).message}`);
            }
          }
        }
        this.seen = version;
        this.lastRead = this.clock.now();
        if (appids.length < this.batch || this.stopped) return;
      }
    } catch (e) {
      this.o.onError?.(`reading the cluster's changes failed: ${(e as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.idle;
    if (this.sub.isReady) await this.sub.close().catch(() => undefined);
    else if (this.sub.isOpen) this.sub.destroy();
  }
}
