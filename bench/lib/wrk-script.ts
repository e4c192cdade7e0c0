// Runs wrk with one of our Lua scripts that sends an exact number of requests
// (wrk-register.lua, wrk-sim-token.lua): each wrk thread prints `<name>: thread
// done` when its share is answered, and the script's done() prints
// `<name>: {json summary}`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpuSeconds } from './proc-stats.js';

/** What every such script reports; each adds its own fields. */
export interface WrkScriptSummary {
  ok: number;
  bad: number;
  durationUs: number;
  requests: number;
  socketErrors: number;
  p50Us: number;
  p99Us: number;
  firstError: string;
}

export interface WrkScriptRun<S extends WrkScriptSummary> {
  summary: S;
  /** CPU seconds wrk itself used (all its threads), read from /proc just before it exits. */
  loaderCpuS: number;
  /** False when wrk reached its -d deadline before every thread was done. */
  finished: boolean;
}

/**
 * `name` is the script's file name without `.lua` (beside this file) and its
 * output prefix; `scriptArgs` go after `--`. Rejects when wrk cannot run or
 * prints no summary; judging the summary is the caller's.
 */
export function runWrkScript<S extends WrkScriptSummary>(
  name: string,
  o: { url: string; connections: number; threads: number; timeoutS: number },
  scriptArgs: string[],
): Promise<WrkScriptRun<S>> {
  const script = fileURLToPath(new URL(`./${name}.lua`, import.meta.url));
  const doneLine = `${name}: thread done`;
  const resultPrefix = `${name}: `;
  const args = [
    '-t',
    String(o.threads),
    '-c',
    String(o.connections),
    '-d',
    `${o.timeoutS}s`,
    '--timeout',
    '10s',
    '-s',
    script,
    o.url,
    '--',
    ...scriptArgs,
  ];
  const wrk = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let errOut = '';
    let done = 0;
    let loaderCpuS = NaN;
    wrk.on('error', (e) => reject(new Error(`${name}: cannot run wrk (apt-get install -y wrk): ${e.message}`)));
    wrk.stderr.on('data', (d: Buffer) => (errOut += d.toString()));
    wrk.stdout.on('data', (d: Buffer) => {
      const before = out.split(doneLine).length;
      out += d.toString();
      done += out.split(doneLine).length - before;
      if (done === o.threads && Number.isNaN(loaderCpuS)) {
        // wrk's main thread sleeps until -d even when every thread has stopped; SIGINT ends the sleep.
        loaderCpuS = cpuSeconds([wrk.pid!]);
        wrk.kill('SIGINT');
      }
    });
    wrk.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(resultPrefix) && l.includes('{'));
      if (!line) {
        reject(new Error(`${name}: wrk (exit ${code}) printed no summary:\n${out}${errOut}`));
        return;
      }
      resolve({ summary: JSON.parse(line.slice(resultPrefix.length)) as S, loaderCpuS, finished: done >= o.threads });
    });
  });
}
