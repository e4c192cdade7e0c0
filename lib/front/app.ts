import Router from '@koa/router';
import Koa from 'koa';
import type { RequestListener } from 'node:http';
import bodyParser from 'koa-bodyparser';
import { Authenticator } from './auth.js';
import { FrontState } from './context.js';
import { authenticate } from './middleware/authenticate.js';
import { errorEnvelope } from './middleware/errors.js';
import { fastQuery } from './middleware/fast-query.js';
import { observe } from './middleware/observe.js';
import { opsRoutes } from './routes/ops.js';
import { testFaultRoutes, testFaultsEnabled } from './routes/test-faults.js';
import { registrationRoutes } from './routes/registration.js';
import { statusRoutes } from './routes/status.js';
import { taskRoutes } from './routes/tasks.js';
import { FrontServices } from './services.js';

/** API.md §5: bodies over 1 MiB are refused with 413. */
export const BODY_LIMIT = '1mb';

/**
 * The Koa app of one front generation, one concern per middleware:
 * request id, metrics, log → error envelope → auth →
 * JSON body → routes (405 for a wrong method). A successful GET /task is
 * answered before Koa by the fast path (see createRequestListener).
 */
export function createApp(s: FrontServices, auth: Authenticator): Koa<FrontState> {
  const app = new Koa<FrontState>();
  app.silent = true; // errors become envelopes and log lines; Koa's own stderr printing is not wanted
  const router = new Router<FrontState>();
  registrationRoutes(router, s);
  taskRoutes(router, s);
  statusRoutes(router, s);
  opsRoutes(router, s);
  if (testFaultsEnabled()) testFaultRoutes(router, s);

  app.use(observe(s.log, s.metrics));
  app.use(errorEnvelope(s.log));
  app.use(authenticate(auth));
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: BODY_LIMIT, strict: true }));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

/**
 * The HTTP server's request listener: the GET /task fast path, then Koa
 * for everything else (bench/README.md has the numbers that put it first).
 * While draining, `Connection: close` is added to every answer by the
 * Drainer's own request listener, whichever of the two writes it.
 */
export function createRequestListener(s: FrontServices, auth: Authenticator): RequestListener {
  return fastQuery(s, auth, createApp(s, auth).callback());
}
