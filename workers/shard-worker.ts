import v8 from 'node:v8';
import { ShardCommand, ShardReply } from '../lib/contract/messages.js';
import { clearQuota, componentEvent, importAuthorizers } from './component-events.js';
import { Shard } from './shard.js';

/**
 * piscina entry of a shard thread. The pool has exactly one thread per
 * shard, so this module's state is the shard's state; it lives between
 * tasks because the pool runs with `atomics: 'disabled'` (timers fire).
 */
let shard: Shard | null = null;

const OK: ShardReply = { kind: 'ok' };

export default async function handle(cmd: ShardCommand): Promise<ShardReply> {
  if (cmd.kind === 'init') {
    if (shard) await shard.close();
    shard = await Shard.open(cmd.settings, cmd.events);
    if (cmd.owns === 'all') await shard.activate();
    else await shard.own(cmd.owns);
    return OK;
  }
  if (cmd.kind === 'heap') {
    const h = v8.getHeapStatistics();
    return { kind: 'heap', heap: { used: h.used_heap_size, total: h.total_heap_size } };
  }
  if (!shard) return { kind: 'error', reason: 'unavailable', message: 'The shard is starting; try again shortly.' };
  switch (cmd.kind) {
    case 'activate':
      await shard.activate();
      return OK;
    case 'release':
      await shard.release();
      return OK;
    case 'own':
      await shard.own(cmd.slots);
      return OK;
    case 'disown':
      await shard.disown(cmd.slots);
      return OK;
    case 'reconcile':
      await shard.reconcile(cmd.appid);
      return OK;
    case 'register':
      return { kind: 'registered', results: await shard.register(cmd.regs, cmd.at) };
    case 'unregister':
      return { kind: 'unregistered', found: await shard.unregister(cmd.appid, cmd.task) };
    case 'refresh':
      return shard.refresh(cmd.key, cmd.stale, cmd.reqId);
    case 'component-event':
      return componentEvent(shard, cmd.appid, cmd.event);
    case 'component-import':
      return importAuthorizers(shard, cmd.appid);
    case 'clear-quota':
      return clearQuota(shard, cmd.appid);
    case 'crash':
      if (process.env.WECHAT_SCHEDULER_TEST_FAULTS !== '1')
        return { kind: 'error', reason: 'disabled', message: 'Fault hooks are disabled.' };
      // Outside the task, so that the thread dies of it: an uncaught error, or running out
      // of the heap its resourceLimits allow (config shardHeapMb).
      setTimeout(() => {
        if (!cmd.oom) throw new Error('test fault: shard crash requested');
        const hog: number[][] = [];
        for (;;) hog.push(new Array<number>(100_000).fill(hog.length));
      }, 10);
      return OK;
  }
}
