import { createClient } from 'redis';
import { FencedWrite, StoreUnavailable } from '../contract/errors.js';
import { ParamsSource, PushSettings } from '../contract/params.js';
import { ValidRegistration } from '../contract/registration.js';
import { TaskKey, TaskType } from '../contract/task-type.js';
import { clusterKeys, ClusterKeys } from '../cluster/keys.js';
import { backoffMs } from '../timing.js';
import { SLOT_COUNT, slotOf } from '../util/shard-of.js';
import { inlineRefreshToken, inlineTicket, sharedParams } from './new-app.js';
import { LuaScript, SCRIPTS } from './redis-scripts.js';
import { AppRow, StoredApp, TaskRow, TaskState, TaskStateUpdate } from './rows.js';
import type { SecretCodec } from './sqlite-store.js';
import { Store } from './store.js';

export type RedisClient = ReturnType<typeof createClient>;
type Client = RedisClient;
type Hash = Record<string, string>;

export interface RedisStoreOptions {
  /** redis:// or rediss:// URL, password included. */
  url: string;
  /** The URL without its password: the only form that appears in messages. */
  display: string;
  /** Key prefix (--redis-prefix). */
  prefix: string;
  secrets: SecretCodec;
  /**
   * The fence this instance holds for the app's slot, or null when it holds
   * none. Given: every write of fetched state is refused unless Redis holds
   * the same fence for the slot. Not given: writes are not fenced.
   */
  fenceOf?: (appid: string) => number | null;
  /** Called with a password-free sentence when the connection fails or drops. */
  onError?: (message: string) => void;
  /** How long open() tries before giving up on an unreachable Redis. */
  openTimeoutMs?: number;
  /**
   * A call without an answer this long fails (StoreUnavailable), so that
   * a Redis that hangs makes writes fail instead of wait for ever. The
   * write may still have happened; it was not acknowledged.
   */
  commandTimeoutMs?: number;
}

/** Reads of many apps go out in batches of this many commands (auto-pipelined in one write). */
const BATCH = 2000;
/** The reconnect back-off after open(): from 100 ms, doubling, at most 5 s. */
const RECONNECT_FIRST_MS = 100;
const RECONNECT_CAP_MS = 5000;
/** A register retried this often meets a secret changing under it every time: something is wrong. */
const REGISTER_ATTEMPTS = 20;
const COMMAND_TIMEOUT_MS = 10_000;

/** Errors of the connection that no retry will fix. */
const AUTH_ERROR = /WRONGPASS|NOAUTH|NOPERM|invalid password|invalid username/i;

/** Hash field of a task: `<type>:<sub>`. */
const fieldOf = (k: { type: TaskType; sub: string }) => `${k.type}:${k.sub}`;

/** The fetched state of a task in its hash field, positionally (compact: a million tasks). */
type StateTuple = [
  value: string | null,
  expiresAt: number | null,
  expiresIn: number | null,
  refreshedAt: number | null,
  fetchedSecretGen: number,
  authorizerAppid: string | null,
  state: TaskState,
  lastError: string | null,
  nextRefreshAt: number | null,
  fetchCount: number,
  failCount: number,
];
const NEW_STATE: StateTuple = [null, null, null, null, 0, null, 'pending', null, null, 0, 0];
type RegTuple = [notify: string | null, stable: 0 | 1, params: ParamsSource, push: PushSettings | null];

function stateJson(s: TaskStateUpdate): string {
  const t: StateTuple = [
    s.value,
    s.expiresAt,
    s.expiresIn,
    s.refreshedAt,
    s.fetchedSecretGen,
    s.authorizerAppid,
    s.state,
    s.lastError,
    s.nextRefreshAt,
    s.fetchCount,
    s.failCount,
  ];
  return JSON.stringify(t);
}

function regJson(notify: string | null, stable: boolean, params: ParamsSource, push: PushSettings | null): string {
  const t: RegTuple = [notify, stable ? 1 : 0, params, push];
  return JSON.stringify(t);
}

const STATES: Record<string, TaskState> = { pending: 'pending', ready: 'ready', failing: 'failing' };

/** The task rows of an app's hash, in getApp's order (type, sub). */
function tasksOfHash(appid: string, h: Hash): TaskRow[] {
  const rows: TaskRow[] = [];
  for (const name in h) {
    if (!name.startsWith('r:')) continue;
    const f = name.slice(2);
    const colon = f.indexOf(':');
    const type = Number(f.slice(0, colon)) as TaskType;
    const sub = f.slice(colon + 1);
    const [notify, stable, params, push] = JSON.parse(h[name]!) as RegTuple;
    const st = h[`s:${f}`];
    const [value, expiresAt, expiresIn, refreshedAt, fetchedSecretGen, authorizerAppid, state, lastError, ...rest] =
      st === undefined ? NEW_STATE : (JSON.parse(st) as StateTuple);
    const [nextRefreshAt, fetchCount, failCount] = rest;
    rows.push({
      appid,
      type,
      sub,
      notify,
      params: sharedParams(params),
      stable: stable === 1,
      push,
      regGen: Number(h[`g:${f}`] ?? 1),
      value,
      expiresAt,
      expiresIn,
      refreshedAt,
      fetchedSecretGen,
      refreshToken: h[`t:${f}`] ?? null,
      authorizerAppid: authorizerAppid === sub ? sub : authorizerAppid,
      state: STATES[state] ?? state,
      lastError,
      nextRefreshAt,
      fetchCount,
      failCount,
    });
  }
  return rows.sort((a, b) => a.type - b.type || (a.sub < b.sub ? -1 : a.sub > b.sub ? 1 : 0));
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The store of a cluster: one Redis shared by every instance. Each write is
 * one Lua script (atomic, announced on the change feed in the same step)
 * and resolves once Redis answered; with AOF and `appendfsync always` that
 * answer means it is on disk. While Redis is unreachable every call fails
 * at once with StoreUnavailable (no offline queue), and the client
 * reconnects by itself.
 */
export class RedisStore implements Store {
  readonly keys: ClusterKeys;
  private closed = false;

  private constructor(
    private readonly client: Client,
    private readonly o: RedisStoreOptions,
  ) {
    this.keys = clusterKeys(o.prefix);
  }

  /**
   * Connect; an unreachable Redis (after `openTimeoutMs`, 4 s by default) or
   * a refused password rejects with an Error naming `display`, never the password.
   */
  static async open(o: RedisStoreOptions): Promise<RedisStore> {
    const client = RedisStore.connectClient(o);
    const store = new RedisStore(client, o);
    return client.connect().then(
      () => store,
      (e: unknown) => {
        client.destroy();
        throw new Error(`cannot open the store at ${o.display}: ${store.scrub(e)}`);
      },
    );
  }

  /**
   * A client of this store's connection settings, not yet connected: the
   * store's own, and those of subscribers (the change feed) that need one
   * of their own. Until its first connection it gives up after
   * `openTimeoutMs` or at once on an authentication error; afterwards it
   * reconnects with back-off for ever.
   */
  static connectClient(o: RedisStoreOptions): Client {
    const started = Date.now();
    const openTimeout = o.openTimeoutMs ?? 4000;
    let connected = false;
    const client: Client = createClient({
      url: o.url,
      disableOfflineQueue: true,
      // No per-command timeout (node-redis' default is 5 s, an AbortSignal each): call() times whole calls out.
      commandOptions: { timeout: 0 },
      socket: {
        connectTimeout: Math.min(openTimeout, 3000),
        reconnectStrategy: (retries, cause) => {
          if (!connected) {
            if (AUTH_ERROR.test(cause.message)) return cause;
            if (Date.now() - started >= openTimeout) return cause;
            return 200;
          }
          return backoffMs(retries + 1, RECONNECT_CAP_MS, RECONNECT_FIRST_MS);
        },
      },
    });
    client.on('ready', () => (connected = true));
    client.on('error', (e: unknown) => {
      if (connected) o.onError?.(`the store at ${o.display}: ${scrubWith(o, e)}`);
    });
    return client;
  }

  /**
   * A new connection of the same settings, not yet connected, for a
   * subscriber (a connection in subscribe mode can send nothing else).
   */
  newConnection(): Client {
    return RedisStore.connectClient(this.o);
  }

  /** 'up' while the connection is ready for commands. */
  status(): 'up' | 'down' {
    return this.client.isReady ? 'up' : 'down';
  }

  /** The error's sentence with the password (if any) replaced. */
  private scrub(e: unknown): string {
    return scrubWith(this.o, e);
  }

  /** Run a command; a failure of the connection becomes StoreUnavailable with a sentence naming the store. */
  /**
   * One timer per call, not per command: node-redis' own command timeout
   * costs an AbortSignal per command, which dominated a bulk load.
   */
  private async call<T>(what: string, body: () => Promise<T>): Promise<T> {
    const ms = this.o.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([body(), late]);
    } catch (e) {
      if (e instanceof FencedWrite) throw e;
      throw new StoreUnavailable(`the store at ${this.o.display} could not ${what}: ${this.scrub(e)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private async run(s: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.client.evalSha(s.sha, { keys, arguments: args });
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
      // First use on this Redis (or after its restart): EVAL loads the script for the next EVALSHA.
      return await this.client.eval(s.source, { keys, arguments: args });
    }
  }

  /** The keys every write script takes, in the order redis-scripts.ts documents. */
  private writeKeys(appid: string): string[] {
    const slot = slotOf(appid);
    const k = this.keys;
    return [k.app(appid), k.apps, k.slotApps(slot), k.version, k.changes, k.fence(slot)];
  }

  /** The fence argument of a fenced write: '' unfenced; throws FencedWrite when this instance holds none. */
  private fence(appid: string, what: string): string {
    if (!this.o.fenceOf) return '';
    const f = this.o.fenceOf(appid);
    if (f === null)
      throw new FencedWrite(
        `refused to write the ${what} of app ${appid}: this instance does not hold the lease of its slot ${slotOf(appid)}`,
      );
    return String(f);
  }

  private fencedResult(r: unknown, appid: string, what: string): void {
    if (r === 'FENCED')
      throw new FencedWrite(
        `refused to write the ${what} of app ${appid}: another instance took over its slot ${slotOf(appid)} (fence moved)`,
      );
  }

  async register(reg: ValidRegistration, now: number): Promise<boolean> {
    let ticket = '';
    const tasks: string[] = [];
    for (const t of reg.tasks) {
      const rt = inlineRefreshToken(t.type, t.params);
      tasks.push(fieldOf(t), regJson(t.notify, t.stable, t.params, t.push), rt === null ? '-' : `+${rt}`);
      ticket = inlineTicket(t) ?? ticket;
    }
    const keys = this.writeKeys(reg.appid);
    return this.call('register an app', async () => {
      for (let attempt = 0; attempt < REGISTER_ATTEMPTS; attempt++) {
        const stored = await this.client.hGet(keys[0]!, 'secret');
        // Keep the stored form when the secret did not change, so secretGen does not move.
        const write =
          stored != null && this.o.secrets.decode(stored) === reg.appsecret ? '' : this.o.secrets.encode(reg.appsecret);
        const args = [reg.appid, this.keys.changesChannel, '', stored == null ? '0' : '1', stored ?? ''];
        const r = await this.run(SCRIPTS.register, keys, [...args, write, ticket, String(now), ...tasks]);
        if (r !== 'RETRY') return r === 1;
      }
      throw new Error(`the appsecret of ${reg.appid} kept changing while it was being registered`);
    });
  }

  async deleteApp(appid: string): Promise<boolean> {
    const r = await this.call('delete an app', () =>
      this.run(SCRIPTS.deleteApp, this.writeKeys(appid), [appid, this.keys.changesChannel, '']),
    );
    return r === 1;
  }

  async deleteTask(key: TaskKey): Promise<boolean> {
    const r = await this.call('delete a task', () =>
      this.run(SCRIPTS.deleteTask, this.writeKeys(key.appid), [key.appid, this.keys.changesChannel, '', fieldOf(key)]),
    );
    return r === 1;
  }

  async saveState(key: TaskKey, s: TaskStateUpdate): Promise<void> {
    const fence = this.fence(key.appid, 'fetched state');
    const rt = s.refreshToken === undefined ? '-' : s.refreshToken === null ? '0' : `+${s.refreshToken}`;
    const args = [key.appid, this.keys.changesChannel, fence, fieldOf(key), stateJson(s), rt];
    const r = await this.call('save a fetched value', () =>
      this.run(SCRIPTS.saveState, this.writeKeys(key.appid), args),
    );
    this.fencedResult(r, key.appid, 'fetched state');
  }

  async saveVerifyTicket(appid: string, ticket: string, at: number): Promise<void> {
    const fence = this.fence(appid, 'verify ticket');
    const args = [appid, this.keys.changesChannel, fence, ticket, String(at)];
    const r = await this.call('save a verify ticket', () => this.run(SCRIPTS.saveTicket, this.writeKeys(appid), args));
    this.fencedResult(r, appid, 'verify ticket');
  }

  /** Replace the app exactly as given (migrate): secret, generations, ticket, every task's state. */
  async importApp(stored: StoredApp): Promise<void> {
    const { app, tasks } = stored;
    const fields: string[] = ['secret', this.o.secrets.encode(app.secret), 'secretGen', String(app.secretGen)];
    if (app.verifyTicket !== null) fields.push('ticket', app.verifyTicket, 'ticketAt', String(app.verifyTicketAt ?? 0));
    fields.push('n', String(tasks.length));
    for (const t of tasks) {
      const f = fieldOf(t);
      fields.push(`r:${f}`, regJson(t.notify, t.stable, t.params, t.push), `g:${f}`, String(t.regGen));
      fields.push(`s:${f}`, stateJson(t));
      if (t.refreshToken !== null) fields.push(`t:${f}`, t.refreshToken);
    }
    if (tasks.length === 0) {
      await this.deleteApp(app.appid);
      return;
    }
    const args = [app.appid, this.keys.changesChannel, '', ...fields];
    await this.call('import an app', () => this.run(SCRIPTS.importApp, this.writeKeys(app.appid), args));
  }

  private toStored(appid: string, h: Hash): StoredApp | undefined {
    if (h.secret === undefined) return undefined;
    const ticketAt = h.ticketAt;
    const app: AppRow = {
      appid,
      secret: this.o.secrets.decode(h.secret),
      secretGen: Number(h.secretGen),
      verifyTicket: h.ticket ?? null,
      verifyTicketAt: ticketAt === undefined ? null : Number(ticketAt),
    };
    return { app, tasks: tasksOfHash(appid, h) };
  }

  private hashes(appids: string[]): Promise<Hash[]> {
    return this.call('read apps', async () => {
      const out: Hash[] = [];
      for (const batch of chunks(appids, BATCH)) {
        // One pipeline per batch: far cheaper than a promise (and a timeout) per command.
        const m = this.client.multi();
        for (const a of batch) m.hGetAll(this.keys.app(a));
        for (const h of await m.execAsPipeline()) out.push(h as unknown as Hash);
      }
      return out;
    });
  }

  async getApp(appid: string): Promise<StoredApp | undefined> {
    const [h] = await this.hashes([appid]);
    return this.toStored(appid, h!);
  }

  /** Every appid of the slots given (slotOf). */
  private async appidsOf(slots: number[]): Promise<string[]> {
    const sets = await this.call('read slots', () =>
      Promise.all(slots.map((s) => this.client.sMembers(this.keys.slotApps(s)))),
    );
    return sets.flat();
  }

  /** Every app of the slots given, with its tasks: what a new owner of those slots loads. */
  async loadSlots(slots: number[]): Promise<StoredApp[]> {
    const appids = await this.appidsOf(slots);
    const hs = await this.hashes(appids);
    const out: StoredApp[] = [];
    hs.forEach((h, i) => {
      const s = this.toStored(appids[i]!, h);
      if (s) out.push(s);
    });
    return out;
  }

  /** shardOf(appid, count) is slotOf(appid) % count: a shard is a set of whole slots. */
  loadShard(index: number, count: number): Promise<StoredApp[]> {
    const slots: number[] = [];
    for (let s = 0; s < SLOT_COUNT; s++) if (s % count === index) slots.push(s);
    return this.loadSlots(slots);
  }

  async allTasks(): Promise<TaskRow[]> {
    const appids = await this.call('read apps', () => this.client.sMembers(this.keys.apps));
    const hs = await this.hashes(appids);
    return hs.flatMap((h, i) => tasksOfHash(appids[i]!, h));
  }

  /** The task rows of each app given (no secrets); an unknown app has none. */
  async tasksOf(appids: string[]): Promise<Map<string, TaskRow[]>> {
    const hs = await this.hashes(appids);
    const out = new Map<string, TaskRow[]>();
    hs.forEach((h, i) => out.set(appids[i]!, tasksOfHash(appids[i]!, h)));
    return out;
  }

  /** The current version of the change feed (0 before any write). */
  async version(): Promise<number> {
    const v = await this.call('read the version', () => this.client.get(this.keys.version));
    return v == null ? 0 : Number(v);
  }

  /**
   * Apps changed after `version`, oldest change first, at most `limit`;
   * `version` of the answer is that of the last one listed (the given one
   * when none), where the next call continues.
   */
  async changesSince(version: number, limit: number): Promise<{ appids: string[]; version: number }> {
    const got = await this.call('read the changes', () =>
      this.client.zRangeByScoreWithScores(this.keys.changes, `(${version}`, '+inf', {
        LIMIT: { offset: 0, count: limit },
      }),
    );
    const last = got[got.length - 1];
    return { appids: got.map((x) => String(x.value)), version: last ? Number(last.score) : version };
  }

  async hasTask(appid: string, type: TaskType): Promise<boolean> {
    const names = await this.call('read an app', () => this.client.hKeys(this.keys.app(appid)));
    const prefix = `r:${type}:`;
    return names.some((n) => String(n).startsWith(prefix));
  }

  async keptRefreshToken(appid: string, sub: string): Promise<boolean> {
    const n = await this.call('read an app', () =>
      this.client.hExists(this.keys.app(appid), `t:${fieldOf({ type: TaskType.OAuthToken, sub })}`),
    );
    return Number(n) === 1;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.client.isReady) await this.client.close();
    else this.client.destroy();
  }
}

/** `e`'s message with the URL's password (if any) replaced by ***. */
function scrubWith(o: { url: string }, e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  let password = '';
  try {
    password = decodeURIComponent(new URL(o.url).password);
  } catch {
    password = '';
  }
  return password === '' ? msg : msg.split(password).join('***');
}
