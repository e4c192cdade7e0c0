// Request counters, so tests can prove a client made no extra WeChat calls.
import { ENDPOINT_NAMES, type EndpointName } from './endpoint.js';

export type Counts = Record<EndpointName, number>;

export interface StatsSnapshot {
  total: number;
  calls: Counts;
  byApp: Record<string, Counts>;
  /** Connections that called the WeChat API, open now and most open at once since start or reset (a client's outbound concurrency). */
  connections: { open: number; max: number };
}

function zero(): Counts {
  return Object.fromEntries(ENDPOINT_NAMES.map((n) => [n, 0])) as Counts;
}

export class Stats {
  private total = 0;
  private calls = zero();
  private byApp = new Map<string, Counts>();
  private open = 0;
  private maxOpen = 0;

  connectionOpened(): void {
    this.open++;
    this.maxOpen = Math.max(this.maxOpen, this.open);
  }

  connectionClosed(): void {
    this.open--;
  }

  /** Counts one received request, under each (distinct, non-empty) appid it concerns. */
  count(endpoint: EndpointName, appids: readonly string[]): void {
    this.total++;
    this.calls[endpoint]++;
    for (const appid of new Set(appids)) {
      if (appid === '') continue;
      const counts = this.byApp.get(appid) ?? zero();
      counts[endpoint]++;
      this.byApp.set(appid, counts);
    }
  }

  snapshot(): StatsSnapshot {
    const byApp: Record<string, Counts> = {};
    for (const [appid, counts] of this.byApp) byApp[appid] = { ...counts };
    return { total: this.total, calls: { ...this.calls }, byApp, connections: { open: this.open, max: this.maxOpen } };
  }

  clear(): void {
    this.total = 0;
    this.calls = zero();
    this.byApp.clear();
    this.maxOpen = this.open;
  }
}
