/** One live instance as GET /cluster lists it. */
export interface InstanceView {
  id: string;
  apps: number;
  tasks: number;
  /** ISO 8601, UTC: its last heartbeat. */
  last_seen: string;
}

/** What the routes may ask about the cluster this instance is part of (cluster mode only). */
export interface ClusterView {
  /** This instance's id (--instance-id). */
  readonly self: string;
  instances(): InstanceView[];
  /** The instance that refreshes this app now, or null while nobody holds its slot (a failover). */
  ownerOf(appid: string): string | null;
  /** Why this instance is not fully working (the store unreachable, its leases unconfirmed), or null. */
  degraded(): string | null;
}
