import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { ShardEvent } from '../contract/messages.js';
import { TASK_NAMES, TaskType } from '../contract/task-type.js';

/** Prometheus metrics of one front generation (process metrics included). */
export class Metrics {
  readonly registry = new Registry();
  private readonly fetches = new Counter({
    name: 'wechat_scheduler_fetches_total',
    help: 'WeChat fetches by task type, result and errcode.',
    labelNames: ['type', 'name', 'result', 'errcode'] as const,
    registers: [this.registry],
  });
  private readonly notifies = new Counter({
    name: 'wechat_scheduler_notify_total',
    help: 'Notify deliveries to business systems by result.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly http = new Counter({
    name: 'wechat_scheduler_http_requests_total',
    help: 'HTTP requests by route and status.',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly shardRestarts = new Counter({
    name: 'wechat_scheduler_shard_restarts_total',
    help: 'Shard threads restored after dying.',
    registers: [this.registry],
  });

  constructor(tasksByState: () => Record<string, number>) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'wechat_scheduler_tasks',
      help: 'Registered tasks by state.',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const counts = tasksByState();
        for (const state of ['pending', 'ready', 'failing']) this.set({ state }, counts[state] ?? 0);
      },
    });
  }

  onShardEvent(ev: ShardEvent): void {
    if (ev.kind === 'fetch') {
      const type = ev.type as TaskType;
      this.fetches.inc({ type: String(type), name: TASK_NAMES[type], result: ev.ok ? 'ok' : 'error', errcode: ev.errcode === null ? '' : String(ev.errcode) });
    } else if (ev.kind === 'notify') {
      this.notifies.inc({ result: ev.ok ? 'ok' : 'error' });
    }
  }
}
