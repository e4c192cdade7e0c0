// A token-call load generator for the WeChat simulator with wrk (Debian
// package `wrk`) and wrk-sim-token.lua: exactly `count` calls, GET
// /cgi-bin/token for appids appPrefix + 7-digit index, and every `every`-th
// call a POST api_authorizer_token — the calls the product makes at scale.
import { runWrkScript, WrkScriptSummary } from './wrk-script.js';

export interface WrkSimTokenOptions {
  url: string;
  count: number;
  /** Index of the first call (calls cycle over the apps and authorizers). */
  start: number;
  apps: number;
  appPrefix: string;
  /** Every `every`-th call is an authorizer call; 0 = none. */
  every: number;
  authorizers: number;
  authPrefix: string;
  componentAppid: string;
  componentToken: string;
  /** Makes this run's refresh tokens unlike any other run's. */
  runId: string;
  connections: number;
  threads?: number;
  timeoutS?: number;
}

export interface WrkSimTokenResult {
  seconds: number;
  perS: number;
  /** CPU seconds wrk itself used, read from /proc just before it exits. */
  loaderCpuS: number;
  p50Ms: number;
  p99Ms: number;
}

/** Runs wrk until all `count` calls are answered; throws unless every one got its token. */
export async function wrkSimToken(o: WrkSimTokenOptions): Promise<WrkSimTokenResult> {
  const threads = o.threads ?? 1;
  const timeoutS = o.timeoutS ?? Math.round(60 + o.count / 200);
  const {
    summary: r,
    loaderCpuS,
    finished,
  } = await runWrkScript<WrkScriptSummary>(
    'wrk-sim-token',
    { url: o.url, connections: o.connections, threads, timeoutS },
    [
      String(o.count),
      String(o.start),
      String(o.apps),
      o.appPrefix,
      String(o.every),
      String(o.authorizers),
      o.authPrefix,
      o.componentAppid,
      o.componentToken,
      o.runId,
      String(threads),
    ],
  );
  if (r.ok < o.count || r.bad !== 0) {
    throw new Error(
      `wrk-sim-token: ${r.ok} of ${o.count} calls got a token, ${r.bad} did not, ${r.socketErrors} socket errors` +
        `${finished ? '' : ` (wrk stopped at its ${timeoutS} s deadline)`}; first failure: ${r.firstError || 'none'}`,
    );
  }
  const seconds = r.durationUs / 1e6;
  return { seconds, perS: o.count / seconds, loaderCpuS, p50Ms: r.p50Us / 1000, p99Ms: r.p99Us / 1000 };
}
