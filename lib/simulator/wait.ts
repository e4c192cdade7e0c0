// Abortable waiting for delay and hang faults: a wait ends early when the
// simulator closes or the client hangs up, so close() never waits on it.
import type { ServerResponse } from 'node:http';

/** Resolves true after `ms` (Infinity = never), false if aborted or the client left first. */
export function wait(ms: number, signal: AbortSignal, res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted || res.destroyed) return resolve(false);
    const done = (finished: boolean) => {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onStop);
      res.off('close', onStop);
      resolve(finished);
    };
    const onStop = () => done(false);
    const timer = Number.isFinite(ms) ? setTimeout(() => done(true), ms) : undefined;
    signal.addEventListener('abort', onStop);
    res.on('close', onStop);
  });
}
