// Starts the simulator: a Koa app on its own HTTP server, whose close()
// ends hanging and keep-alive connections so it never waits on a client.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import Koa from 'koa';
import { adminRoutes } from './admin-routes.js';
import { SimulatorState } from './state.js';
import { wechatFastPath } from './wechat-fast-path.js';
import { ERR, fail } from './errors.js';
import { wechatBody, wechatRoutes } from './wechat-routes.js';

export interface SimulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Token lifetime in seconds for every kind; default 7200. */
  expiresIn?: number;
}

export interface RunningSimulator {
  /** e.g. http://127.0.0.1:9100, with no trailing slash. */
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
  const port = opts.port ?? 0;
  const host = opts.host ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`Invalid simulator port: ${port}.`);
  if (opts.expiresIn !== undefined && (!Number.isInteger(opts.expiresIn) || opts.expiresIn < 1)) {
    throw new RangeError(`Invalid expiresIn: ${opts.expiresIn}; it must be a whole number of seconds >= 1.`);
  }

  const sim = new SimulatorState(opts.expiresIn);
  const closing = new AbortController();
  const app = new Koa();
  app.use(jsonErrors);
  const wechat = wechatRoutes(sim, closing.signal);
  const admin = adminRoutes(sim);
  app.use(wechat.routes());
  app.use(admin.routes());
  app.use(notFound(sim));

  const koa = app.callback();
  const koaAnswers = (req: IncomingMessage, res: ServerResponse) => void koa(req, res);
  const fast = wechatFastPath(sim, koaAnswers);
  const server = createServer((req, res) => {
    if (!fast(req, res)) koaAnswers(req, res);
  });
  // Connections that called the WeChat API, not the admin API: a test reading /__sim/stats is not a client of WeChat.
  const counted = new WeakSet<Socket>();
  server.on('request', (req: IncomingMessage) => {
    const socket = req.socket;
    if (counted.has(socket) || (req.url ?? '').startsWith('/__sim')) return;
    counted.add(socket);
    sim.stats.connectionOpened();
    socket.once('close', () => sim.stats.connectionClosed());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actualPort = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${actualPort}`,
    port: actualPort,
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/** An unexpected error is a simulator bug: answer 500 JSON instead of Koa's text. */
async function jsonErrors(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  try {
    await next();
  } catch (err) {
    ctx.status = 500;
    ctx.body = { error: err instanceof Error ? err.message : String(err) };
  }
}

/** WeChat answers a path it does not serve with 40066 "invalid url"; the admin API with a 404 sentence. */
function notFound(sim: SimulatorState) {
  return async (ctx: Koa.Context): Promise<void> => {
    if (ctx.path.startsWith('/__sim')) {
      ctx.status = 404;
      ctx.body = { error: `No such route: ${ctx.method} ${ctx.path}.` };
      return;
    }
    ctx.body = wechatBody(sim, fail(ERR.invalidUrl));
  };
}
