/**
 * Every Redis key and channel of one deployment, in one place: the store,
 * the leases and the change feed must agree on them. `prefix` lets several
 * deployments share one Redis (--redis-prefix).
 */
export function clusterKeys(prefix: string) {
  return {
    /** Hash of one app: its appsecret (encoded), secret generation, kept verify ticket and every task (redis-scripts.ts). */
    app: (appid: string) => `${prefix}app:${appid}`,
    /** Set of every registered appid. */
    apps: `${prefix}apps`,
    /** Set of the registered appids of one slot (slotOf): what a new owner of the slot loads. */
    slotApps: (slot: number) => `${prefix}slot:${slot}`,
    /** The lease of a slot: string `<instanceId>|<fence>` with a PX expiry. */
    lease: (slot: number) => `${prefix}lease:${slot}`,
    /** The slot's fencing counter: INCR on every acquisition; a write carrying an older one is refused. */
    fence: (slot: number) => `${prefix}fence:${slot}`,
    /** Counter bumped by every write; the change feed's clock. */
    version: `${prefix}version`,
    /** Sorted set appid → the version of its last change (what a resync reads). */
    changes: `${prefix}changes`,
    /** Pub/sub channel: the appid of every change, as soon as it is written. */
    changesChannel: `${prefix}changes`,
    /** Hash instanceId → JSON heartbeat of each live instance. */
    instances: `${prefix}instances`,
    /** An instance is alive while this key exists (Redis's clock alone): its running process's token, set with the lease's expiry on every renewal. */
    alive: (instanceId: string) => `${prefix}alive:${instanceId}`,
    /** Pub/sub channel where an instance takes commands for the apps it owns. */
    commands: (instanceId: string) => `${prefix}cmd:${instanceId}`,
    /** Pub/sub channel where an instance receives the answers to the commands it sent. */
    replies: (instanceId: string) => `${prefix}reply:${instanceId}`,
  };
}
export type ClusterKeys = ReturnType<typeof clusterKeys>;
