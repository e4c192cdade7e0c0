/**
 * Apps are grouped into this many slots: the unit of ownership in cluster
 * mode (one lease per slot, not per app) and of the shard threads inside an
 * instance (a shard holds whole slots).
 */
export const SLOT_COUNT = 1024;

/** Stable appid → slot mapping (FNV-1a): every instance, process and thread agrees. */
export function slotOf(appid: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < appid.length; i++) {
    h ^= appid.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % SLOT_COUNT;
}

/** The shard thread of an app: the slot's, so that a leased slot lives in one shard. */
export function shardOf(appid: string, shardCount: number): number {
  return slotOf(appid) % shardCount;
}
