import { ShardCommand, ShardReply } from '../contract/messages.js';

/**
 * How a front reaches the actor that owns an app. In the owning generation
 * that is its own shard; in a generation handing over (or taking over) it
 * is the owning generation, reached through the supervisor.
 */
export interface OwnerLink {
  send(appid: string, cmd: ShardCommand): Promise<ShardReply>;
}
