/** Stable appid → shard mapping (FNV-1a): every process and thread agrees on the owner. */
export function shardOf(appid: string, shardCount: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < appid.length; i++) {
    h ^= appid.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shardCount;
}
