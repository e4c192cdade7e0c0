import Database from 'better-sqlite3';
import { mkdirSync, chmodSync, existsSync } from 'node:fs';
import path from 'node:path';
import { ParamsSource, PushSettings } from '../contract/params.js';
import { ValidRegistration } from '../contract/registration.js';
import { TaskKey, TaskType } from '../contract/task-type.js';
import { GroupCommit } from './group-commit.js';
import { inlineRefreshToken, inlineTicket, sharedParams } from './new-app.js';
import { StoredApp, TaskRow, TaskState, TaskStateUpdate, AppRow } from './rows.js';
import { SCHEMA, SCHEMA_VERSION } from './sqlite-schema.js';
import { Store } from './store.js';
import { shardOf, slotOf } from '../util/shard-of.js';
import { WriteLock } from './write-lock.js';

/** How appsecrets are kept at rest (identity, or encryption — see secret-codec.ts). */
export interface SecretCodec {
  encode(plain: string): string;
  decode(stored: string): string;
  /** The stored text in the codec's current form, or null when it is already; throws when undecodable. */
  rewrap?(stored: string): string | null;
  /** Which stored texts rewrap can change: those that do (starts) or do not start with prefix. */
  rewrapScope?: { prefix: string; starts: boolean };
}
export const plainSecrets: SecretCodec = { encode: (s) => s, decode: (s) => s };

interface TaskSqlRow {
  appid: string;
  type: number;
  sub: string;
  notify: string | null;
  params: string;
  stable: number;
  reg_gen: number;
  value: string | null;
  expires_at: number | null;
  expires_in: number | null;
  refreshed_at: number | null;
  fetched_secret_gen: number;
  refresh_token: string | null;
  authorizer_appid: string | null;
  state: string;
  last_error: string | null;
  next_refresh_at: number | null;
  fetch_count: number;
  fail_count: number;
}
interface AppSqlRow {
  appid: string;
  secret: string;
  secret_gen: number;
  verify_ticket: string | null;
  verify_ticket_at: number | null;
}

export const STORE_FILE = 'wechat-scheduler.db';
/** How long a read (or a write outside the group commit) waits for a lock held elsewhere. */
const BUSY_TIMEOUT_MS = 10_000;

/** Create the data directory private to us (0700), whatever the umask. */
export function ensureDataDir(dir: string): void {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** One string per state for all rows (SQLite hands out a fresh copy per row: 100k of them at a restore). */
const STATES: Record<string, TaskState> = { pending: 'pending', ready: 'ready', failing: 'failing' };
/** The params column also holds a type-3 task's push settings, so the schema stays as it is. */
function parseParams(text: string): { params: ParamsSource; push: PushSettings | null } {
  const { push, ...params } = JSON.parse(text) as ParamsSource & { push?: PushSettings };
  return { params: sharedParams(params), push: push ?? null };
}

export function paramsColumn(params: ParamsSource, push: PushSettings | null): string {
  return JSON.stringify(push ? { ...params, push } : params);
}

/**
 * `appid`: the app row's string when the caller has it, so an app's tasks
 * share it instead of holding a copy each. Likewise a type 4 task's
 * authorizer appid is usually its sub.
 */
function toTaskRow(r: TaskSqlRow, appid: string = r.appid): TaskRow {
  const sub = r.sub;
  const { params, push } = parseParams(r.params);
  return {
    appid,
    type: r.type as TaskType,
    sub,
    notify: r.notify,
    params,
    stable: r.stable === 1,
    push,
    regGen: r.reg_gen,
    value: r.value,
    expiresAt: r.expires_at,
    expiresIn: r.expires_in,
    refreshedAt: r.refreshed_at,
    fetchedSecretGen: r.fetched_secret_gen,
    refreshToken: r.refresh_token,
    authorizerAppid: r.authorizer_appid === sub ? sub : r.authorizer_appid,
    state: STATES[r.state] ?? (r.state as TaskState),
    lastError: r.last_error,
    nextRefreshAt: r.next_refresh_at,
    fetchCount: r.fetch_count,
    failCount: r.fail_count,
  };
}

/**
 * The embedded store: one SQLite file in WAL mode. Front and shard threads
 * each open their own connection; `synchronous=NORMAL` survives kill -9
 * (the WAL is in the OS before a write resolves) at a fraction of FULL's cost.
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly commit: GroupCommit;
  private readonly stmt;

  /** Transactions committed by this connection's group commit. */
  get commits(): number {
    return this.commit.commits;
  }

  /**
   * `lock` is shared by the connections of one generation's threads (see
   * WriteLock); a store on its own (tests, tools) gets a lock of its own.
   */
  /**
   * `waitsForThreads`: whether a write may wait (at most WAIT_MS) for
   * another thread of the generation; false on the HTTP thread, which
   * retries from the event loop instead. A lock held by another process is
   * never waited for in any thread.
   */
  constructor(
    dataDir: string,
    private readonly secrets: SecretCodec = plainSecrets,
    private readonly lock: WriteLock = new WriteLock(),
    private readonly waitsForThreads = true,
  ) {
    ensureDataDir(dataDir);
    const file = path.join(dataDir, STORE_FILE);
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Deleted and replaced rows are overwritten, so a removed app's secret (or a secret re-encrypted) does not linger in free pages.
    this.db.pragma('secure_delete = ON');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION)
      throw new Error(`store ${file} was written by a newer wechat-scheduler (schema ${version})`);
    this.db.exec(SCHEMA);
    if (version < SCHEMA_VERSION) this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    const db = this.db;
    this.stmt = {
      upsertApp:
        db.prepare(`INSERT INTO apps (appid, secret, secret_gen, created_at, updated_at) VALUES (@appid, @secret, 1, @now, @now)
        ON CONFLICT(appid) DO UPDATE SET secret = excluded.secret, updated_at = excluded.updated_at,
          secret_gen = apps.secret_gen + (apps.secret <> excluded.secret)`),
      getSecret: db.prepare(`SELECT secret FROM apps WHERE appid = ?`).pluck(),
      upsertTask: db.prepare(`INSERT INTO tasks (appid, type, sub, notify, params, stable, refresh_token)
        VALUES (@appid, @type, @sub, @notify, @params, @stable, @refresh_token)
        ON CONFLICT(appid, type, sub) DO UPDATE SET notify = excluded.notify, params = excluded.params,
          stable = excluded.stable, reg_gen = tasks.reg_gen + 1,
          refresh_token = COALESCE(excluded.refresh_token, tasks.refresh_token)`),
      setTicket: db.prepare(`UPDATE apps SET verify_ticket = ?, verify_ticket_at = ? WHERE appid = ?`),
      deleteApp: db.prepare(`DELETE FROM apps WHERE appid = ?`),
      deleteAppTasks: db.prepare(`DELETE FROM tasks WHERE appid = ?`),
      deleteTask: db.prepare(`DELETE FROM tasks WHERE appid = ? AND type = ? AND sub = ?`),
      countTasks: db.prepare(`SELECT count(*) FROM tasks WHERE appid = ?`).pluck(),
      saveState: db.prepare(`UPDATE tasks SET value = @value, expires_at = @expiresAt, expires_in = @expiresIn,
          refreshed_at = @refreshedAt, fetched_secret_gen = @fetchedSecretGen,
          refresh_token = CASE WHEN @setRefreshToken = 1 THEN @refreshToken ELSE refresh_token END,
          authorizer_appid = @authorizerAppid, state = @state, last_error = @lastError,
          next_refresh_at = @nextRefreshAt, fetch_count = @fetchCount, fail_count = @failCount
        WHERE appid = @appid AND type = @type AND sub = @sub`),
      importApp:
        db.prepare(`INSERT INTO apps (appid, secret, secret_gen, verify_ticket, verify_ticket_at, created_at, updated_at)
        VALUES (@appid, @secret, @secretGen, @verifyTicket, @verifyTicketAt, @now, @now)`),
      importTask: db.prepare(`INSERT INTO tasks (appid, type, sub, notify, params, stable, reg_gen, value, expires_at,
          expires_in, refreshed_at, fetched_secret_gen, refresh_token, authorizer_appid, state, last_error,
          next_refresh_at, fetch_count, fail_count)
        VALUES (@appid, @type, @sub, @notify, @params, @stable, @regGen, @value, @expiresAt, @expiresIn, @refreshedAt,
          @fetchedSecretGen, @refreshToken, @authorizerAppid, @state, @lastError, @nextRefreshAt, @fetchCount, @failCount)`),
      getApp: db.prepare(`SELECT * FROM apps WHERE appid = ?`),
      getTasks: db.prepare(`SELECT * FROM tasks WHERE appid = ? ORDER BY type, sub`),
      allTasks: db.prepare(`SELECT * FROM tasks`),
      hasType: db.prepare(`SELECT 1 FROM tasks WHERE appid = ? AND type = ? LIMIT 1`).pluck(),
      keptRt: db
        .prepare(`SELECT 1 FROM tasks WHERE appid = ? AND type = 2 AND sub = ? AND refresh_token IS NOT NULL`)
        .pluck(),
      // Prepared once: db.pragma() compiles its statement on every call, twice per commit.
      noBusyWait: db.prepare(`PRAGMA busy_timeout = 0`),
      busyWait: db.prepare(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`),
    };
    // One transaction function for every commit rather than a new wrapper per batch.
    const transaction = db.transaction((body: () => void) => body());
    // BEGIN IMMEDIATE: a deferred transaction that reads and then writes fails at once with
    // "database is locked" (no busy wait) when another thread committed in between — under
    // load, 10 % of registrations answered 500 (bench/scale.ts). Taking the write lock first
    // makes waiters queue on the busy timeout instead.
    this.commit = new GroupCommit((body, busySince) =>
      this.locked(() => this.withoutBusyWait(() => transaction.immediate(body)), busySince),
    );
  }

  private locked<T>(body: () => T, busySince: number): T {
    return this.waitsForThreads ? this.lock.run(body) : this.lock.tryRun(body, busySince);
  }

  /**
   * SQLite's busy handler would sleep in this thread for up to busy_timeout
   * while another process (a backup tool, the other generation) holds the
   * lock. Writes fail at once instead (SQLITE_BUSY) and are retried from
   * the event loop (GroupCommit); reads keep the timeout, which WAL readers
   * practically never meet.
   */
  private withoutBusyWait<T>(body: () => T): T {
    this.stmt.noBusyWait.get();
    try {
      return body();
    } finally {
      this.stmt.busyWait.get();
    }
  }

  register(reg: ValidRegistration, now: number): Promise<boolean> {
    return this.commit.run(() => {
      const stored = this.stmt.getSecret.get(reg.appid) as string | undefined;
      // Keep the stored ciphertext when the secret did not change, so secret_gen does not move.
      const secret =
        stored !== undefined && this.secrets.decode(stored) === reg.appsecret
          ? stored
          : this.secrets.encode(reg.appsecret);
      this.stmt.upsertApp.run({ appid: reg.appid, secret, now });
      for (const t of reg.tasks) {
        this.stmt.upsertTask.run({
          appid: reg.appid,
          type: t.type,
          sub: t.sub,
          notify: t.notify,
          params: paramsColumn(t.params, t.push),
          stable: t.stable ? 1 : 0,
          refresh_token: inlineRefreshToken(t.type, t.params),
        });
        const ticket = inlineTicket(t);
        if (ticket !== null) this.stmt.setTicket.run(ticket, now, reg.appid);
      }
      // No app row before means no task rows either (the last task's delete takes the app row too).
      return stored === undefined;
    });
  }

  /**
   * Bring every stored appsecret into the codec's current form (encryption
   * turned on or off, key rotated). Run once at start; a secret that cannot
   * be decoded throws, so the server refuses to start rather than fail later.
   */
  rewrapSecrets(): number {
    const rewrap = this.secrets.rewrap;
    if (!rewrap) return 0;
    // A filter in SQL keeps the usual case (nothing to do) cheap at 100k apps.
    const scope = this.secrets.rewrapScope;
    const rows = (
      scope
        ? this.db
            .prepare(`SELECT appid, secret FROM apps WHERE (substr(secret, 1, length(@prefix)) = @prefix) = @starts`)
            .all({ prefix: scope.prefix, starts: scope.starts ? 1 : 0 })
        : this.db.prepare(`SELECT appid, secret FROM apps`).all()
    ) as Array<{ appid: string; secret: string }>;
    const changes = rows.flatMap((r) => {
      const next = rewrap(r.secret);
      return next === null ? [] : [{ appid: r.appid, secret: next }];
    });
    if (changes.length === 0) return 0;
    // Only the stored form changes, not the secret: secret_gen stays, nothing is refetched.
    const update = this.db.prepare(`UPDATE apps SET secret = @secret WHERE appid = @appid`);
    this.lock.run(() => {
      this.db.transaction(() => changes.forEach((c) => update.run(c)))();
      // Move the new pages into the main file and empty the WAL, which held the old forms.
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    });
    return changes.length;
  }

  deleteApp(appid: string): Promise<boolean> {
    return this.commit
      .run(() => {
        this.stmt.deleteAppTasks.run(appid);
        return this.stmt.deleteApp.run(appid).changes > 0;
      })
      .then((gone) => this.scrubWal(gone));
  }

  deleteTask(key: TaskKey): Promise<boolean> {
    return this.commit
      .run(() => {
        const gone = this.stmt.deleteTask.run(key.appid, key.type, key.sub).changes > 0;
        if (gone && this.stmt.countTasks.get(key.appid) === 0) this.stmt.deleteApp.run(key.appid);
        return gone;
      })
      .then((gone) => this.scrubWal(gone));
  }

  /**
   * After a delete: the WAL still holds older copies of the deleted pages.
   * Checkpoint it into the file (where secure_delete zeroed the rows) and
   * truncate it, so the deleted secrets and values are in neither file.
   * Busy (another connection mid-read): try again shortly.
   */
  private scrubWal(gone: boolean, attempt = 1): boolean {
    if (!gone || !this.db.open) return gone;
    let busy = 1;
    try {
      busy = this.locked(
        () =>
          this.withoutBusyWait(
            () => (this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>)[0]?.busy ?? 1,
          ),
        Date.now(),
      );
    } catch {
      busy = 1;
    }
    if (busy !== 0 && attempt < 5) setTimeout(() => this.scrubWal(true, attempt + 1), 500 * attempt).unref();
    return gone;
  }

  saveState(key: TaskKey, s: TaskStateUpdate): Promise<void> {
    return this.commit.run(() => {
      this.stmt.saveState.run({
        ...s,
        appid: key.appid,
        type: key.type,
        sub: key.sub,
        setRefreshToken: s.refreshToken === undefined ? 0 : 1,
        refreshToken: s.refreshToken ?? null,
      });
    });
  }

  saveVerifyTicket(appid: string, ticket: string, at: number): Promise<void> {
    return this.commit.run(() => {
      this.stmt.setTicket.run(ticket, at, appid);
    });
  }

  getApp(appid: string): Promise<StoredApp | undefined> {
    return Promise.resolve(this.readApp(appid));
  }

  private readApp(appid: string): StoredApp | undefined {
    const a = this.stmt.getApp.get(appid) as AppSqlRow | undefined;
    if (!a) return undefined;
    const app: AppRow = {
      appid: a.appid,
      secret: this.secrets.decode(a.secret),
      secretGen: a.secret_gen,
      verifyTicket: a.verify_ticket,
      verifyTicketAt: a.verify_ticket_at,
    };
    return { app, tasks: (this.stmt.getTasks.all(appid) as TaskSqlRow[]).map((r) => toTaskRow(r, app.appid)) };
  }

  /**
   * Every app `accept` takes, with its tasks: two table scans in one read
   * transaction instead of two queries per app. A shard restoring 100k apps
   * spent half its start in getApp() (bench/restore.ts).
   */
  loadShard(index: number, count: number): Promise<StoredApp[]> {
    return Promise.resolve(this.loadApps((appid) => shardOf(appid, count) === index));
  }

  loadSlots(slots: number[]): Promise<StoredApp[]> {
    const wanted = new Set(slots);
    return Promise.resolve(this.loadApps((appid) => wanted.has(slotOf(appid))));
  }

  /** Replace the app exactly as given (migrate), in one transaction. */
  importApp(stored: StoredApp): Promise<void> {
    const { app, tasks } = stored;
    const now = Date.now();
    return this.commit.run(() => {
      this.stmt.deleteAppTasks.run(app.appid);
      this.stmt.deleteApp.run(app.appid);
      if (tasks.length === 0) return;
      this.stmt.importApp.run({
        appid: app.appid,
        secret: this.secrets.encode(app.secret),
        secretGen: app.secretGen,
        verifyTicket: app.verifyTicket,
        verifyTicketAt: app.verifyTicketAt,
        now,
      });
      for (const t of tasks) {
        this.stmt.importTask.run({
          ...t,
          params: paramsColumn(t.params, t.push),
          stable: t.stable ? 1 : 0,
        });
      }
    });
  }

  private loadApps(accept: (appid: string) => boolean): StoredApp[] {
    // The filter runs inside SQLite, so rows of other shards never become objects.
    this.db.function('ws_accept', (appid: unknown) => (accept(String(appid)) ? 1 : 0));
    const apps = this.db.prepare(`SELECT * FROM apps WHERE ws_accept(appid)`);
    const tasks = this.db.prepare(`SELECT * FROM tasks WHERE ws_accept(appid) ORDER BY appid, type, sub`);
    return this.db.transaction(() => {
      const out = new Map<string, StoredApp>();
      for (const a of apps.iterate() as IterableIterator<AppSqlRow>) {
        const app: AppRow = {
          appid: a.appid,
          secret: this.secrets.decode(a.secret),
          secretGen: a.secret_gen,
          verifyTicket: a.verify_ticket,
          verifyTicketAt: a.verify_ticket_at,
        };
        out.set(a.appid, { app, tasks: [] });
      }
      for (const r of tasks.iterate() as IterableIterator<TaskSqlRow>) {
        const stored = out.get(r.appid);
        stored?.tasks.push(toTaskRow(r, stored.app.appid));
      }
      return [...out.values()];
    })();
  }

  allTasks(): Promise<TaskRow[]> {
    return Promise.resolve((this.stmt.allTasks.all() as TaskSqlRow[]).map((r) => toTaskRow(r)));
  }

  /**
   * One app's task rows, read at once and without its secret: the front of
   * a generation that does not own the apps reads through with it (WAL
   * readers never wait for the write lock).
   */
  taskRowsNow(appid: string): TaskRow[] {
    return (this.stmt.getTasks.all(appid) as TaskSqlRow[]).map((r) => toTaskRow(r));
  }

  hasTask(appid: string, type: TaskType): Promise<boolean> {
    return Promise.resolve(this.stmt.hasType.get(appid, type) === 1);
  }

  keptRefreshToken(appid: string, sub: string): Promise<boolean> {
    return Promise.resolve(this.stmt.keptRt.get(appid, sub) === 1);
  }

  close(): void {
    this.commit.flush(true);
    this.db.close();
  }
}
