// A registration load generator with wrk (Debian package `wrk`) and
// wrk-register.lua: exactly `total` POST /registe of type-0 apps named
// prefix + 7-digit index, 0..total-1. wrk costs far less CPU per request than
// an undici Pool in Node, which matters when it shares 2 cores with the server.
import { runWrkScript, WrkScriptSummary } from './wrk-script.js';

export interface WrkRegisterOptions {
  url: string;
  total: number;
  /** Appid prefix; the appid is prefix + 7-digit index. */
  prefix: string;
  token: string;
  connections: number;
  /** wrk threads (each takes a contiguous range of indexes); 1 is enough for ~10k req/s. */
  threads?: number;
  /** Give up (and fail) after this long; default 60 s + 5 ms per registration. */
  timeoutS?: number;
}

export interface WrkRegisterResult {
  /** Registrations answered 200 with the success envelope. */
  ok: number;
  seconds: number;
  perS: number;
  /** CPU seconds wrk itself used (all its threads), read from /proc just before it exits. */
  loaderCpuS: number;
  p50Ms: number;
  p99Ms: number;
  /** Filler GET /healthz sent while a thread's last registrations were in flight (uncounted). */
  filler: number;
}

interface LuaSummary extends WrkScriptSummary {
  filler: number;
}

/** Runs wrk until every registration is answered; throws unless all `total` were answered 200 "success". */
export async function wrkRegister(o: WrkRegisterOptions): Promise<WrkRegisterResult> {
  const threads = o.threads ?? 1;
  if (o.total < threads) throw new Error(`wrk-register: total ${o.total} is below the ${threads} wrk threads`);
  const timeoutS = o.timeoutS ?? Math.round(60 + o.total / 200);
  const {
    summary: r,
    loaderCpuS,
    finished,
  } = await runWrkScript<LuaSummary>('wrk-register', { url: o.url, connections: o.connections, threads, timeoutS }, [
    String(o.total),
    o.prefix,
    o.token,
    String(threads),
  ]);
  if (r.ok !== o.total || r.bad !== 0) {
    throw new Error(
      `wrk-register: ${r.ok} of ${o.total} registrations answered 200, ${r.bad} refused, ${r.socketErrors} socket errors` +
        `${finished ? '' : ` (wrk stopped at its ${timeoutS} s deadline)`}; first refusal: ${r.firstError || 'none'}`,
    );
  }
  const seconds = r.durationUs / 1e6;
  return {
    ok: r.ok,
    seconds,
    perS: r.ok / seconds,
    loaderCpuS,
    p50Ms: r.p50Us / 1000,
    p99Ms: r.p99Us / 1000,
    filler: r.filler,
  };
}

/**
 * Independent check that the server holds the apps: GET /apps says `expected`
 * apps in all, and the first and last registered appids are there.
 */
export async function verifyApps(
  url: string,
  token: string,
  prefix: string,
  total: number,
  expected = total,
): Promise<void> {
  const get = async (path: string) => {
    const r = await fetch(url + path, { headers: { authorization: `Bearer ${token}` } });
    return { status: r.status, json: (await r.json()) as { result?: { total?: number } } };
  };
  const all = await get('/apps?limit=1');
  if (all.json.result?.total !== expected)
    throw new Error(`verify: GET /apps says ${all.json.result?.total} apps, expected ${expected}`);
  for (const i of [0, total - 1]) {
    const appid = `${prefix}${String(i).padStart(7, '0')}`;
    const r = await get(`/apps/${appid}`);
    if (r.status !== 200) throw new Error(`verify: GET /apps/${appid} answered ${r.status}`);
  }
}
