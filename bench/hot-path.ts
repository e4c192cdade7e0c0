// Per-request costs on the GET /task hot path, measured in-process with the
// product's own modules: how many nanoseconds each piece adds, and what
// share of a bare node:http request (≈ 1e9 / bare req/s) that is.
//
//   node --import tsx bench/hot-path.ts [--iterations 200000] [--bare-rps 30000]
import { randomUUID } from 'node:crypto';
import { Authenticator } from '../lib/front/auth.js';
import { Counter } from 'prom-client';
import { fmt, flags, table } from './lib/args.js';

const opt = flags({ iterations: 200_000, bareRps: 30_000 });

function measure(name: string, fn: (i: number) => unknown): [string, number] {
  for (let i = 0; i < 20_000; i++) fn(i); // warm up the JIT
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < opt.iterations; i++) if (fn(i)) sink++;
  const ns = Number(process.hrtime.bigint() - t0) / opt.iterations;
  if (sink < 0) console.log(sink);
  return [name, ns];
}

const TOKEN = 'bench-token-0123456789abcdef';
const header = `Bearer ${TOKEN}`;
const auth = new Authenticator([
  { token: TOKEN, readOnly: false },
  { token: 'another-token-for-scope', readOnly: true },
]);
// The same kind of counter as the product's wechat_scheduler_http_requests_total.
const http = new Counter({
  name: 'http_requests_total',
  help: 'h',
  labelNames: ['route', 'status'] as const,
  registers: [],
});
const served = http.labels({ route: '/task/:appid/:type', status: '200' });
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

const rows = [
  measure('auth.check (Bearer, 2 rules)', () => auth.check(header, '127.0.0.1').ok),
  measure('auth.check wrong token', () => auth.check('Bearer nope', '127.0.0.1').ok),
  measure('randomUUID()', () => randomUUID().length),
  measure('request-id regex on absent header', () => REQUEST_ID.test('')),
  measure('counter.inc({route,status})', () => http.inc({ route: '/task/:appid/:type', status: '200' })),
  measure('pre-resolved child .inc()', () => served.inc()),
  measure('performance.now()', () => performance.now()),
];
const budget = 1e9 / opt.bareRps;
console.log(`per-request budget of bare node:http at ${opt.bareRps} req/s: ${fmt(budget)} ns\n`);
console.log(
  table(
    ['piece', 'ns/op', '% of bare request'],
    rows.map(([n, ns]) => [n, fmt(ns), fmt((100 * ns) / budget, 1)]),
  ),
);
