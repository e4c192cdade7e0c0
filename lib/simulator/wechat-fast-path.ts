// Answers the common WeChat call without Koa: the endpoint's exact path and
// method, a plain query string, and no fault rule pending. Everything else
// (trailing slashes, HEAD, odd URLs, faults) goes to the Koa routes in
// wechat-routes.ts, which stay the reference: the answer here is the one Koa
// sends for `ctx.body = object` (status, headers in the same order, JSON
// text), and test/simulator-fast-path.test.ts compares the two byte for byte.
// Koa cost ~26 us of CPU per call here (bench/simulator.ts), which the simulator takes from the
// server under test when both run on one box.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { keepBody, readJsonBody, type JsonBody } from './body.js';
import type { Endpoint, EndpointRequest } from './endpoint.js';
import { ENDPOINTS } from './endpoints/index.js';
import { ERR, fail, type WeChatBody } from './errors.js';
import type { SimulatorState } from './state.js';
import { wechatBody } from './wechat-routes.js';

/** Characters that make Koa's URL parser (parseurl) fall back to url.parse: leave those URLs to Koa. */
const ODD_URL = /[\t\n\f\r #\u00a0\ufeff]/;
const JSON_TYPE = 'application/json; charset=utf-8';

/** Returns false, having touched nothing, when the Koa routes must answer this request. */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

export function wechatFastPath(
  sim: SimulatorState,
  handOver: (req: IncomingMessage, res: ServerResponse) => void,
): FastPath {
  const byPath = new Map<string, Endpoint>(ENDPOINTS.map((e) => [e.path, e]));
  return (req, res) => {
    if (sim.faults.size > 0) return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const endpoint = byPath.get(q < 0 ? url : url.slice(0, q));
    if (!endpoint || req.method !== endpoint.method) return false;
    const search = q < 0 ? '' : url.slice(q + 1);
    if (ODD_URL.test(search)) return false;
    const query = parseQuery(search);
    if (endpoint.method === 'GET') {
      answer(sim, endpoint, { query, body: {} }, res);
      return true;
    }
    void readJsonBody(req).then(
      (parsed) => {
        if (sim.faults.size > 0) {
          // A fault rule came while the body was on its way: Koa plays it, with the body read here.
          keepBody(req, parsed);
          handOver(req, res);
          return;
        }
        answer(sim, endpoint, postRequest(query, parsed), res);
      },
      (err: unknown) => send(res, 500, { error: err instanceof Error ? err.message : String(err) }),
    );
    return true;
  };
}

/** Koa's ctx.query (URLSearchParams), first value of each key, as wechat-routes reads it. */
function parseQuery(search: string): Record<string, string> {
  const query: Record<string, string> = {};
  if (search === '') return query;
  for (const [key, value] of new URLSearchParams(search)) {
    if (!Object.hasOwn(query, key)) query[key] = value;
  }
  return query;
}

/** As wechat-routes' readRequest: null when a POST body is not a JSON object. */
function postRequest(query: Record<string, string>, parsed: JsonBody): EndpointRequest | null {
  if (!parsed.ok) return null;
  const value = parsed.value ?? {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  return { query, body: value as Record<string, unknown> };
}

/** wechat-routes' answer() with no fault pending: count the call, then answer like WeChat. */
function answer(sim: SimulatorState, endpoint: Endpoint, req: EndpointRequest | null, res: ServerResponse): void {
  let status = 200;
  let body: WeChatBody | { error: string };
  try {
    if (!req) {
      sim.stats.count(endpoint.name, []);
      body = wechatBody(sim, fail(ERR.dataFormat));
    } else {
      sim.stats.count(endpoint.name, endpoint.appids(req, sim));
      body = wechatBody(sim, endpoint.handle(req, sim));
    }
  } catch (err) {
    // As server.ts' jsonErrors: a simulator bug answers 500 JSON.
    status = 500;
    body = { error: err instanceof Error ? err.message : String(err) };
  }
  send(res, status, body);
}

/** What Koa's respond() sends for a JSON body. */
function send(res: ServerResponse, status: number, body: object): void {
  if (res.writableEnded || (res.socket && !res.socket.writable)) {
    res.end();
    return;
  }
  const json = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(json) });
  res.end(json);
}
