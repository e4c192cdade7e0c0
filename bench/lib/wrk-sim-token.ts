// A token-call load generator for the WeChat simulator with wrk (Debian
// package `wrk`) and wrk-sim-token.lua: exactly `count` calls, GET
// /cgi-bin/token for appids appPrefix + 7-digit index, and every `every`-th
// call a POST api_authorizer_token — the calls the product makes at scale.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpuSeconds } from './proc-stats.js';

const SCRIPT = fileURLToPath(new URL('./wrk-sim-token.lua', import.meta.url));
const DONE_LINE = 'wrk-sim-token: thread done';
const RESULT_PREFIX = 'wrk-sim-token: ';

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

interface LuaSummary {
  ok: number; bad: number; durationUs: number; requests: number;
  socketErrors: number; p50Us: number; p99Us: number; firstError: string;
}

/** Runs wrk until all `count` calls are answered; throws unless every one got its token. */
export function wrkSimToken(o: WrkSimTokenOptions): Promise<WrkSimTokenResult> {
  const threads = o.threads ?? 1;
  const timeoutS = o.timeoutS ?? Math.round(60 + o.count / 200);
  const args = ['-t', String(threads), '-c', String(o.connections), '-d', `${timeoutS}s`, '--timeout', '10s', '-s', SCRIPT, o.url, '--',
    String(o.count), String(o.start), String(o.apps), o.appPrefix, String(o.every), String(o.authorizers), o.authPrefix,
    o.componentAppid, o.componentToken, o.runId, String(threads)];
  const wrk = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let errOut = '';
    let done = 0;
    let loaderCpuS = NaN;
    wrk.on('error', (e) => reject(new Error(`wrk-sim-token: cannot run wrk (apt-get install -y wrk): ${e.message}`)));
    wrk.stderr.on('data', (d: Buffer) => (errOut += d.toString()));
    wrk.stdout.on('data', (d: Buffer) => {
      const before = out.split(DONE_LINE).length;
      out += d.toString();
      done += out.split(DONE_LINE).length - before;
      if (done === threads && Number.isNaN(loaderCpuS)) {
        // wrk's main thread sleeps until -d even when every thread has stopped; SIGINT ends the sleep.
        loaderCpuS = cpuSeconds([wrk.pid!]);
        wrk.kill('SIGINT');
      }
    });
    wrk.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX) && l.includes('{'));
      if (!line) {
        reject(new Error(`wrk-sim-token: wrk (exit ${code}) printed no summary:\n${out}${errOut}`));
        return;
      }
      const r = JSON.parse(line.slice(RESULT_PREFIX.length)) as LuaSummary;
      if (r.ok < o.count || r.bad !== 0) {
        reject(new Error(`wrk-sim-token: ${r.ok} of ${o.count} calls got a token, ${r.bad} did not, ${r.socketErrors} socket errors` +
          `${done < threads ? ` (wrk stopped at its ${timeoutS} s deadline)` : ''}; first failure: ${r.firstError || 'none'}`));
        return;
      }
      const seconds = r.durationUs / 1e6;
      resolve({ seconds, perS: o.count / seconds, loaderCpuS, p50Ms: r.p50Us / 1000, p99Ms: r.p99Us / 1000 });
    });
  });
}
