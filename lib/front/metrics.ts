import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import v8 from 'node:v8';
import { HeapBytes, ShardEvent, TaskUpdate } from '../contract/messages.js';
import { TASK_NAMES, TaskType } from '../contract/task-type.js';
import { isUsable } from '../timing.js';

/** What the cluster metrics read at scrape time. */
export interface ClusterStats {
  leasesHeld(): number;
  leaseLosses(): number;
  feedLagMs(): number;
}

/** What the metrics read about tasks at scrape time (the front's task cache). */
export interface TaskSource {
  forEachTask(fn: (t: TaskUpdate) => void): void;
}

const TYPES = [0, 1, 2, 3, 4, 5] as const satisfies readonly TaskType[];
const STATES = ['pending', 'ready', 'failing'] as const;

/**
 * Seconds a served value has left, as a distribution: per task type, how
 * many values expire within each bound. Bounded whatever the number of
 * tasks (a series per task would be 100k series). A gauge, not a
 * histogram: it is a snapshot that falls as well as rises, which a
 * histogram's counters must not; the `le` label still lets
 * histogram_quantile() read it. The bounds bracket the refresh margin
 * (300 s) and WeChat's usual 7200 s lifetime.
 */
const EXPIRY_BOUNDS = [30, 60, 120, 300, 600, 1200, 1800, 3600, 5400, 7200, Infinity];

/** One pass over every task per scrape (~35 ms for 100k), shared by the task gauges. */
interface Census {
  at: number;
  byState: Record<string, number>;
  withoutValue: Record<TaskType, number>;
  minExpiry: Record<TaskType, number | null>;
  /** [type][bound index]: values expiring within EXPIRY_BOUNDS[i] (not yet cumulative). */
  expiring: Record<TaskType, number[]>;
}

function perType<T>(make: () => T): Record<TaskType, T> {
  return { 0: make(), 1: make(), 2: make(), 3: make(), 4: make(), 5: make() };
}

function takeCensus(source: TaskSource, now: number): Census {
  const c: Census = {
    at: now,
    byState: {},
    withoutValue: perType(() => 0),
    minExpiry: perType(() => null),
    expiring: perType(() => EXPIRY_BOUNDS.map(() => 0)),
  };
  source.forEachTask((t) => {
    c.byState[t.state] = (c.byState[t.state] ?? 0) + 1;
    if (!isUsable(t.value, t.expiresAt, now)) {
      c.withoutValue[t.type]++;
      return;
    }
    const left = (t.expiresAt! - now) / 1000;
    let i = 0;
    while (left > (EXPIRY_BOUNDS[i] ?? Infinity)) i++;
    const counts = c.expiring[t.type];
    counts[i] = (counts[i] ?? 0) + 1;
    const min = c.minExpiry[t.type];
    if (min === null || left < min) c.minExpiry[t.type] = left;
  });
  return c;
}

/**
 * Prometheus metrics of one front generation, process metrics included.
 * Counters start at zero in each generation (a SIGHUP reload looks like a
 * counter reset to Prometheus, which rate() handles).
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly fencedWrites = new Counter({
    name: 'wechat_scheduler_cluster_fenced_writes_total',
    help: 'Writes of this instance the store refused because another instance had leased the app since (cluster mode).',
    registers: [this.registry],
  });
  private readonly fetches = new Counter({
    name: 'wechat_scheduler_fetches_total',
    help: 'Fetches of a task value (WeChat calls, with their params lookups) by task type and result (ok or error).',
    labelNames: ['type', 'name', 'result'] as const,
    registers: [this.registry],
  });
  private readonly failures = new Counter({
    name: 'wechat_scheduler_fetch_failures_total',
    help: 'Failed fetches by task type and WeChat errcode ("none": network error, timeout, HTTP error or params).',
    labelNames: ['type', 'name', 'errcode'] as const,
    registers: [this.registry],
  });
  private readonly notifies = new Counter({
    name: 'wechat_scheduler_notify_total',
    help: 'Notify attempts to business systems: delivered, or failed (each failed attempt; retried at least 3 times).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  private readonly notifyDrops = new Counter({
    name: 'wechat_scheduler_notify_dropped_total',
    help: 'Notifies given up undelivered: superseded (a newer value of the task was sent instead) or backlog (too many waited for one origin).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private readonly stableForce = new Counter({
    name: 'wechat_scheduler_stable_force_total',
    help: 'stable_token force_refresh wanted by a passive refresh: forced, skipped (budget of 20 a day, 30 s apart), refused (WeChat said 45009/45011).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  /** GET /task answers of its fast path not yet added to `http`: a plain add per request, the labelled inc() per scrape. */
  private fastQueries = 0;
  readonly http: Counter<'route' | 'status'> = new Counter({
    name: 'wechat_scheduler_http_requests_total',
    help: 'HTTP requests by route pattern and status.',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
    collect: () => {
      if (this.fastQueries === 0) return;
      this.http.inc({ route: '/task/:appid/:type', status: '200' }, this.fastQueries);
      this.fastQueries = 0;
    },
  });

  /** One GET /task answered by the fast path (listeners/get-task.ts). */
  fastQueryServed(): void {
    this.fastQueries++;
  }
  readonly shardRestarts = new Counter({
    name: 'wechat_scheduler_shard_restarts_total',
    help: 'Shard threads restored after dying.',
    registers: [this.registry],
  });
  private census: Census | null = null;
  private shardHeaps: () => Promise<Array<HeapBytes | null>> = async () => [];

  constructor(private readonly source: TaskSource) {
    collectDefaultMetrics({ register: this.registry });
    // Every known series from zero, so rate() and absent() work before the first event.
    for (const type of TYPES)
      for (const result of ['ok', 'error']) this.fetches.inc({ type: String(type), name: TASK_NAMES[type], result }, 0);
    for (const result of ['delivered', 'failed']) this.notifies.inc({ result }, 0);
    for (const reason of ['superseded', 'backlog']) this.notifyDrops.inc({ reason }, 0);
    for (const result of ['forced', 'skipped', 'refused']) this.stableForce.inc({ result }, 0);
    const shardHeaps = () => this.shardHeaps();
    new Gauge({
      name: 'wechat_scheduler_heap_bytes',
      help: 'V8 heap of each thread of the server process: bytes used by live and not yet collected objects, and total bytes V8 holds.',
      labelNames: ['thread', 'kind'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        const front = v8.getHeapStatistics();
        const heaps: Array<[string, HeapBytes | null]> = [
          ['front', { used: front.used_heap_size, total: front.total_heap_size }],
        ];
        (await shardHeaps()).forEach((h, i) => heaps.push([`shard-${i}`, h]));
        for (const [thread, h] of heaps) {
          if (!h) continue;
          this.set({ thread, kind: 'used' }, h.used);
          this.set({ thread, kind: 'total' }, h.total);
        }
      },
    });
    const census = (fresh = false) => this.currentCensus(fresh);
    // Collected first of the four (registration order): it takes the census the others reuse.
    new Gauge({
      name: 'wechat_scheduler_tasks',
      help: 'Registered tasks by state.',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const c = census(true);
        for (const state of STATES) this.set({ state }, c.byState[state] ?? 0);
      },
    });
    new Gauge({
      name: 'wechat_scheduler_tasks_without_value',
      help: 'Tasks that have no unexpired value to serve (GET /task answers 503), by task type.',
      labelNames: ['type', 'name'] as const,
      registers: [this.registry],
      collect() {
        const c = census();
        for (const type of TYPES) this.set({ type: String(type), name: TASK_NAMES[type] }, c.withoutValue[type]);
      },
    });
    new Gauge({
      name: 'wechat_scheduler_task_min_expiry_seconds',
      help: 'Smallest remaining lifetime among served values, by task type (alert when it nears 0: refreshes are not landing).',
      labelNames: ['type', 'name'] as const,
      registers: [this.registry],
      collect() {
        const c = census();
        this.reset();
        for (const type of TYPES) {
          const min = c.minExpiry[type];
          if (min !== null) this.set({ type: String(type), name: TASK_NAMES[type] }, Math.round(min * 10) / 10);
        }
      },
    });
    new Gauge({
      name: 'wechat_scheduler_tasks_expiring_within_seconds',
      help: 'Served values that expire within `le` seconds, by task type (cumulative, like histogram buckets; one series per bound, not per task).',
      labelNames: ['type', 'name', 'le'] as const,
      registers: [this.registry],
      collect() {
        const c = census();
        for (const type of TYPES) {
          let cumulative = 0;
          EXPIRY_BOUNDS.forEach((bound, i) => {
            cumulative += c.expiring[type][i] ?? 0;
            this.set(
              { type: String(type), name: TASK_NAMES[type], le: bound === Infinity ? '+Inf' : String(bound) },
              cumulative,
            );
          });
        }
      },
    });
  }

  /**
   * Heap of every thread of this process (process_heap_* covers the front
   * thread only): what a shard holds shows whether `shardHeapMb` has room.
   */
  watchShardHeaps(read: () => Promise<Array<HeapBytes | null>>): void {
    this.shardHeaps = read;
  }

  /** Cluster mode: this instance's leases, and how fresh its copy of the other instances' writes is. */
  watchCluster(c: ClusterStats): void {
    new Gauge({
      name: 'wechat_scheduler_cluster_leases_held',
      help: 'Slot leases this instance holds (cluster mode; apps hash into 1024 slots).',
      registers: [this.registry],
      collect() {
        this.set(c.leasesHeld());
      },
    });
    new Counter({
      name: 'wechat_scheduler_cluster_lease_losses_total',
      help: 'Slot leases this instance lost without giving them up (renewal failed or came too late).',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(c.leaseLosses());
      },
    });
    new Gauge({
      name: 'wechat_scheduler_cluster_pubsub_lag_seconds',
      help: 'Seconds since this instance last read the cluster change feed (values written by other instances reach it then).',
      registers: [this.registry],
      collect() {
        this.set(c.feedLagMs() / 1000);
      },
    });
  }

  onShardEvent(ev: ShardEvent): void {
    if (ev.kind === 'fenced') {
      this.fencedWrites.inc();
    } else if (ev.kind === 'fetch') {
      const type = String(ev.type);
      const name = TASK_NAMES[ev.type as TaskType];
      this.fetches.inc({ type, name, result: ev.ok ? 'ok' : 'error' });
      if (!ev.ok) this.failures.inc({ type, name, errcode: ev.errcode === null ? 'none' : String(ev.errcode) });
    } else if (ev.kind === 'notify') {
      this.notifies.inc({ result: ev.ok ? 'delivered' : 'failed' });
    } else if (ev.kind === 'notify-dropped') {
      this.notifyDrops.inc({ reason: ev.reason });
    } else if (ev.kind === 'stable-force') {
      this.stableForce.inc({ result: ev.result });
    }
  }

  /** One pass per scrape: the first task metric collected takes it, the other three reuse it. */
  private currentCensus(fresh: boolean): Census {
    const now = Date.now();
    if (fresh || !this.census || now - this.census.at > 1000) this.census = takeCensus(this.source, now);
    return this.census;
  }
}
