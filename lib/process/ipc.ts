import { Config, RawOptions, StartFacts } from '../config.js';
import { ShardCommand, ShardReply } from '../contract/messages.js';

/**
 * Every message between the supervisor and a front generation process
 * (Node's IPC channel, JSON-serialised). Only the generation that owns the
 * apps runs shard commands; the others forward theirs through the supervisor.
 */
export type ToGeneration =
  /**
   * First message after fork: what to run with, and whether to own the apps
   * from the start. `flags` are re-resolved by the generation's own code (new
   * code may know settings the supervisor does not); `config` is the
   * supervisor's view, whose port, host and data dir win (the shared socket
   * and the store stay the same across reloads). `facts`: the supervisor's,
   * for defaults such as the instance id that must not change on a reload.
   */
  | { t: 'start'; config: Config; flags: RawOptions; facts: StartFacts; active: boolean; generation: number }
  /** Take ownership of every app (after the previous owner released it). */
  | { t: 'activate' }
  /** Give ownership up: stop timers, finish fetches in flight, keep serving HTTP. */
  | { t: 'release' }
  /** Stop accepting, drain HTTP clients, close the shards and the store, exit 0. */
  | { t: 'stop' }
  | { t: 'owner-command'; id: number; appid: string; cmd: ShardCommand }
  | { t: 'owner-reply'; id: number; reply: ShardReply };

export type FromGeneration =
  /** Sent once the process listens for messages: anything sent before would be lost. */
  | { t: 'alive' }
  | { t: 'ready'; port: number; build: string }
  | { t: 'activated' }
  | { t: 'released' }
  | { t: 'failed'; message: string }
  | { t: 'owner-command'; id: number; appid: string; cmd: ShardCommand }
  | { t: 'owner-reply'; id: number; reply: ShardReply };

/** The generation's end of the channel; absent when it runs without a supervisor. */
export interface SupervisorChannel {
  send(msg: FromGeneration): void;
}

/**
 * How long giving up ownership may take. A release waits for the fetches in
 * flight; one fetch is a few bounded calls (params, WeChat, a dependency
 * refresh and one retry), so allow four of each. The supervisor kills a
 * generation that takes longer: two owners must never run.
 */
export function releaseBoundMs(c: { wechatTimeoutMs: number; callbackTimeoutMs: number }): number {
  return Math.max(30_000, 4 * (c.wechatTimeoutMs + c.callbackTimeoutMs));
}
