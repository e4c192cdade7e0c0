// The project's WeChat simulator, started in the test process, with typed
// access to its admin API (/__sim).
import { ENDPOINT_NAMES } from '../../lib/simulator/endpoint.js';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../lib/simulator/index.js';
import type { Counts } from '../../lib/simulator/stats.js';
import { client, Json } from './http.js';

/** WeChat calls by endpoint (`token`, `ticket`, `authorizer`, ...). */
export type SimCalls = Counts;
export interface SimStats {
  total: number;
  calls: SimCalls;
  /** Only apps WeChat was called for; read it with callsOf(). */
  byApp: Record<string, SimCalls>;
}

/** The calls made for `appid`: all zero when WeChat was never called for it. */
export function callsOf(stats: SimStats, appid: string): SimCalls {
  return stats.byApp[appid] ?? (Object.fromEntries(ENDPOINT_NAMES.map((n) => [n, 0])) as SimCalls);
}

export interface Sim extends RunningSimulator {
  stats(): Promise<SimStats>;
  /** callsOf() the current stats. */
  calls(appid: string): Promise<SimCalls>;
  config(settings: Json): Promise<void>;
  addApp(app: { appid: string; secret?: string; expiresIn?: number; invalid?: boolean }): Promise<void>;
  fault(f: Json): Promise<void>;
  clearFaults(): Promise<void>;
  refreshToken(t: { token: string; kind: 'oauth' | 'authorizer'; revoked?: boolean; openid?: string }): Promise<void>;
  ticket(ticket: string, state?: string): Promise<void>;
  valid(token: string): Promise<boolean>;
  /**
   * Whether `token` was valid at `askedAt` (epoch ms), checked now: valid now,
   * or since run out (not replaced) at a moment after `askedAt`. A value served
   * just before it ran out may be checked just after on a loaded machine.
   */
  validWhenAsked(token: string, askedAt: number): Promise<boolean>;
}

export async function startSim(opts: SimulatorOptions = {}): Promise<Sim> {
  const running = await startSimulator({ port: 0, ...opts });
  const c = client(running.url);
  const ok = async (p: Promise<{ status: number; text: string }>) => {
    const r = await p;
    if (r.status >= 300) throw new Error(`simulator admin call failed: ${r.status} ${r.text}`);
  };
  return {
    ...running,
    async stats() {
      return (await c.get('/__sim/stats')).body as unknown as SimStats;
    },
    async calls(appid) {
      return callsOf((await c.get('/__sim/stats')).body as unknown as SimStats, appid);
    },
    config: (settings) => ok(c.post('/__sim/config', settings)),
    addApp: (app) => ok(c.post('/__sim/apps', app)),
    fault: (f) => ok(c.post('/__sim/faults', f)),
    clearFaults: () => ok(c.del('/__sim/faults')),
    refreshToken: (t) => ok(c.post('/__sim/refresh-tokens', t)),
    ticket: (ticket, state) => ok(c.post('/__sim/tickets', { ticket, state })),
    async valid(token) {
      return (await c.get(`/__sim/valid?token=${encodeURIComponent(token)}`)).body.valid === true;
    },
    async validWhenAsked(token, askedAt) {
      const check = (await c.get(`/__sim/valid?token=${encodeURIComponent(token)}`)).body;
      return (
        check.valid === true ||
        (check.status === 'expired' && typeof check.expiresAt === 'number' && check.expiresAt > askedAt)
      );
    },
  };
}
