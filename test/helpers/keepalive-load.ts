// Continuous keep-alive load for the reload tests: N undici Clients, one
// connection each, each sending its next request as soon as the previous
// answer is read (what wrk does). Every answer is checked; a connection
// reset, a timeout ("hung") or a wrong answer is recorded as a failure.
import { Client } from 'undici';
import { at } from './must.js';

export interface LoadRequest {
  method?: 'GET' | 'POST';
  path: string;
  /** A failure sentence when the answer is wrong, else null. */
  check?: (status: number, body: string) => string | null;
}

export interface LoadReport {
  ok: number;
  failures: string[];
  /** TCP connections opened over the run (more than `clients` means keep-alive sockets were moved). */
  connects: number;
  maxLatencyMs: number;
  durationMs: number;
}

export interface Load {
  /** Answers so far, to wait for the load to be flowing. */
  done(): number;
  stop(): Promise<LoadReport>;
}

const HUNG_MS = 5_000;

export function startLoad(url: string, requests: LoadRequest[], clients = 16, token?: string): Load {
  const started = Date.now();
  const report: LoadReport = { ok: 0, failures: [], connects: 0, maxLatencyMs: 0, durationMs: 0 };
  let stopping = false;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const loops = Array.from({ length: clients }, async (_, c) => {
    const client = new Client(url, {
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: HUNG_MS,
      bodyTimeout: HUNG_MS,
      connectTimeout: HUNG_MS,
    });
    client.on('connect', () => report.connects++);
    let i = c;
    while (!stopping) {
      const r = at(requests, i++ % requests.length, 'request');
      const t0 = Date.now();
      try {
        const res = await client.request({ method: r.method ?? 'GET', path: r.path, headers });
        const body = await res.body.text();
        const wrong =
          r.check?.(res.statusCode, body) ?? (res.statusCode === 200 ? null : `status ${res.statusCode}: ${body}`);
        if (wrong) report.failures.push(`${r.path}: ${wrong}`);
        else report.ok++;
      } catch (e) {
        const err = e as Error & { code?: string };
        report.failures.push(`${r.path}: ${err.code ?? err.name} ${err.message} after ${Date.now() - t0} ms`);
      }
      report.maxLatencyMs = Math.max(report.maxLatencyMs, Date.now() - t0);
    }
    await client.close().catch(() => undefined);
  });
  return {
    done: () => report.ok + report.failures.length,
    async stop() {
      stopping = true;
      await Promise.all(loops);
      report.durationMs = Date.now() - started;
      return report;
    },
  };
}
