import { randomUUID } from 'node:crypto';
import type { ShardCommand, ShardErrorReason, ShardReply } from '../contract/messages.js';
import type { Logger } from '../log.js';
import { ClusterKeys } from './keys.js';

/** A client that publishes (any connected node-redis client). */
export interface Publisher {
  publish(channel: string, message: string): Promise<number>;
}

/** A client in subscriber mode (node-redis: a duplicate() of the main client, connected). */
export interface Subscriber {
  subscribe(channel: string, listener: (message: string, channel: string) => unknown): Promise<void>;
  unsubscribe(channel: string, listener?: (message: string, channel: string) => unknown): Promise<void>;
}

export interface OwnerChannelOptions {
  publisher: Publisher;
  /** May be shared with other subscribers (the change feed): the channel unsubscribes only its own listeners. */
  subscriber: Subscriber;
  keys: ClusterKeys;
  instanceId: string;
  logger: Logger;
}

/** The commands one instance may send another: those that act on an app its owner runs. */
export type RemoteCommand = Extract<
  ShardCommand,
  { kind: 'register' | 'unregister' | 'refresh' | 'component-event' | 'component-import' | 'clear-quota' }
>;

export type OwnerHandler = (appid: string, cmd: RemoteCommand) => Promise<ShardReply>;

interface Request {
  id: string;
  from: string;
  appid: string;
  /** Epoch ms after which the asker no longer waits: a command delivered later (queued through a reconnect) is not run. */
  deadline: number;
  cmd: RemoteCommand;
}

interface Reply {
  id: string;
  reply: ShardReply;
}

interface Waiting {
  resolve(reply: ShardReply): void;
  timer: NodeJS.Timeout;
}

/**
 * Request and reply between instances over Redis pub/sub: a command for an
 * app goes to the instance that owns it now (keys.commands(owner)), and
 * its answer comes back on the asker's keys.replies(id). Pub/sub keeps
 * nothing: an owner that is gone or does not answer in time is
 * `unavailable`, and the asker may try again once the app has a new owner.
 * Every message is JSON and checked on arrival; a malformed one is logged
 * (never its content: a registration carries a secret) and dropped.
 */
export class OwnerChannel {
  private readonly waiting = new Map<string, Waiting>();
  private handler: OwnerHandler | null = null;
  private closed = false;
  private readonly onReply = (message: string) => this.reply(message);
  private readonly onCommand = (message: string) => this.command(message);

  private constructor(private readonly opts: OwnerChannelOptions) {}

  /** Listen for the answers to this instance's questions. */
  static async open(opts: OwnerChannelOptions): Promise<OwnerChannel> {
    const channel = new OwnerChannel(opts);
    await opts.subscriber.subscribe(opts.keys.replies(opts.instanceId), channel.onReply);
    return channel;
  }

  /** Answer the commands other instances send for the apps this one owns. */
  async serve(handler: OwnerHandler): Promise<void> {
    const first = this.handler === null;
    this.handler = handler;
    if (first) await this.opts.subscriber.subscribe(this.opts.keys.commands(this.opts.instanceId), this.onCommand);
  }

  /** Ask `instanceId` to run `cmd` for `appid`; `unavailable` when it is not there or does not answer within `timeoutMs`. */
  async ask(instanceId: string, appid: string, cmd: RemoteCommand, timeoutMs: number): Promise<ShardReply> {
    if (this.closed) return unavailable('this instance is shutting down; try again on another one');
    const id = randomUUID();
    const answer = new Promise<ShardReply>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(unavailable(`instance ${instanceId} did not answer within ${timeoutMs} ms; try again`));
      }, timeoutMs);
      timer.unref();
      this.waiting.set(id, { resolve, timer });
    });
    const request: Request = { id, from: this.opts.instanceId, appid, cmd, deadline: Date.now() + timeoutMs };
    // Not awaited: a publish queued while Redis reconnects must not hold the answer past the timeout.
    this.opts.publisher.publish(this.opts.keys.commands(instanceId), JSON.stringify(request)).then(
      (listeners) => {
        if (listeners === 0) this.settle(id, unavailable(`instance ${instanceId} is not listening; try again`));
      },
      (err: unknown) =>
        this.settle(
          id,
          unavailable(`the request for instance ${instanceId} could not be sent (${text(err)}); try again`),
        ),
    );
    return answer;
  }

  /** Stop serving and listening; questions still waiting are answered `unavailable`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.waiting.keys()])
      this.settle(id, unavailable('this instance is shutting down; try again'));
    const { subscriber, keys, instanceId } = this.opts;
    const drop = async (channel: string, listener: (m: string) => void) => {
      try {
        await subscriber.unsubscribe(channel, listener);
      } catch (err) {
        this.opts.logger.debug({ err: text(err), channel }, 'unsubscribing failed');
      }
    };
    await drop(keys.replies(instanceId), this.onReply);
    if (this.handler) await drop(keys.commands(instanceId), this.onCommand);
  }

  private settle(id: string, reply: ShardReply): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    clearTimeout(w.timer);
    w.resolve(reply);
  }

  private reply(message: string): void {
    const r = parse(message, asReply);
    if (typeof r === 'string') {
      this.opts.logger.warn({ why: r }, 'dropped a malformed reply from another instance');
      return;
    }
    // An answer that came after its question timed out finds nobody waiting.
    this.settle(r.id, r.reply);
  }

  private command(message: string): void {
    const req = parse(message, asRequest);
    if (typeof req === 'string') {
      this.opts.logger.warn({ why: req }, 'dropped a malformed command from another instance');
      return;
    }
    const handler = this.handler;
    if (!handler || this.closed) return;
    if (Date.now() > req.deadline + CLOCK_GRACE_MS) {
      this.opts.logger.warn(
        { kind: req.cmd.kind, from: req.from, lateMs: Date.now() - req.deadline },
        'dropped a command that arrived after its asker stopped waiting (or the two clocks are apart)',
      );
      return;
    }
    void this.answer(handler, req);
  }

  private async answer(handler: OwnerHandler, req: Request): Promise<void> {
    let reply: ShardReply;
    try {
      reply = await handler(req.appid, req.cmd);
    } catch (err) {
      reply = { kind: 'error', reason: 'failed', message: `the owner failed to run ${req.cmd.kind}: ${text(err)}` };
    }
    const out: Reply = { id: req.id, reply };
    try {
      await this.opts.publisher.publish(this.opts.keys.replies(req.from), JSON.stringify(out, withoutSeq));
    } catch (err) {
      this.opts.logger.warn({ err: text(err), to: req.from, kind: req.cmd.kind }, 'could not send a reply');
    }
  }
}

/** How far apart two instances' wall clocks may be before a command in time looks late. */
const CLOCK_GRACE_MS = 2_000;

function unavailable(message: string): ShardReply {
  return { kind: 'error', reason: 'unavailable', message };
}

function text(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

type Check<T> = (v: Record<string, unknown>) => T | string;

/** The message as T, or why not (a sentence). */
function parse<T>(message: string, check: Check<T>): T | string {
  let v: unknown;
  try {
    v = JSON.parse(message);
  } catch {
    return 'not JSON';
  }
  if (!isObject(v)) return 'not a JSON object';
  return check(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200;

const asRequest: Check<Request> = (v) => {
  if (!isId(v.id) || !isId(v.from)) return 'no id or sender';
  if (typeof v.appid !== 'string' || v.appid === '') return 'no appid';
  if (typeof v.deadline !== 'number' || !Number.isFinite(v.deadline)) return 'no deadline';
  const cmd = v.cmd;
  if (!isObject(cmd)) return 'no command';
  const why = remoteCommandProblem(cmd);
  if (why) return why;
  return { id: v.id, from: v.from, appid: v.appid, deadline: v.deadline, cmd: cmd as unknown as RemoteCommand };
};

/** Why `cmd` is not a command another instance may send, or null. */
function remoteCommandProblem(cmd: Record<string, unknown>): string | null {
  const isKey = (k: unknown) => isObject(k) && typeof k.appid === 'string' && typeof k.type === 'number';
  switch (cmd.kind) {
    case 'register':
      return Array.isArray(cmd.regs) && typeof cmd.at === 'number' ? null : 'a register command needs regs and at';
    case 'unregister':
      return typeof cmd.appid === 'string' && (cmd.task === undefined || isKey(cmd.task))
        ? null
        : 'an unregister command needs an appid';
    case 'refresh':
      return isKey(cmd.key) ? null : 'a refresh command needs a task key';
    case 'component-event':
      return typeof cmd.appid === 'string' && isObject(cmd.event) ? null : 'a component event needs an appid and event';
    case 'component-import':
    case 'clear-quota':
      return typeof cmd.appid === 'string' ? null : `a ${cmd.kind} command needs an appid`;
    default:
      return 'a command kind another instance may not send';
  }
}

const REASONS: readonly ShardErrorReason[] = [
  'unavailable',
  'unknown_app',
  'unknown_task',
  'disabled',
  'upstream_failed',
  'refused',
  'failed',
];

/**
 * A task's `seq` is read on this machine's monotonic clock: another
 * instance could not order it against its own, so it gets the task as if
 * read from the store.
 */
function withoutSeq(key: string, value: unknown): unknown {
  return key === 'seq' ? undefined : value;
}

const asReply: Check<Reply> = (v) => {
  if (!isId(v.id)) return 'no id';
  const r = v.reply;
  if (!isObject(r)) return 'no reply';
  const why = replyProblem(r);
  if (why) return why;
  return { id: v.id, reply: r as unknown as ShardReply };
};

function replyProblem(r: Record<string, unknown>): string | null {
  switch (r.kind) {
    case 'ok':
      return null;
    case 'refreshed':
      return isObject(r.update) && isObject(r.outcome) ? null : 'a refreshed reply needs update and outcome';
    case 'registered':
      return Array.isArray(r.results) ? null : 'a registered reply needs results';
    case 'unregistered':
      return typeof r.found === 'boolean' ? null : 'an unregistered reply needs found';
    case 'heap':
      return isObject(r.heap) ? null : 'a heap reply needs heap';
    case 'result':
      return isObject(r.result) ? null : 'a result reply needs result';
    case 'error':
      return REASONS.includes(r.reason as ShardErrorReason) && typeof r.message === 'string'
        ? null
        : 'an error reply needs a known reason and a message';
    default:
      return 'an unknown reply kind';
  }
}
