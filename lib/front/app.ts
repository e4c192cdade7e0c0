import Router from '@koa/router';
import Koa from 'koa';
import type { RequestListener } from 'node:http';
import bodyParser from 'koa-bodyparser';
import { consolePages, consoleRoutes } from '../console/routes.js';
import { AppIndex } from './app-index.js';
import { Authenticator } from './auth.js';
import { FrontState } from './context.js';
import { authenticate } from './middleware/authenticate.js';
import { compatV0 } from './listeners/compat-v0.js';
import { errorEnvelope } from './middleware/errors.js';
import { fastQuery } from './listeners/get-task.js';
import { fastRegistration } from './listeners/post-registe.js';
import { observe } from './middleware/observe.js';
import { componentRoutes } from './routes/component.js';
import { opsRoutes } from './routes/ops.js';
import { testFaultRoutes, testFaultsEnabled } from './routes/test-faults.js';
import { registrationRoutes } from './routes/registration.js';
import { statusRoutes } from './routes/status.js';
import { taskRoutes } from './routes/tasks.js';
import { hostRequired } from './odd-requests.js';
import { FrontServices } from './front-services.js';
import { storeWriteGuard } from './store-presence.js';

/** docs/api.md §5: bodies over 1 MiB are refused with 413 (koa-bodyparser's limit and the fast registration path's). */
export const BODY_LIMIT = 1024 * 1024;

/**
 * The Koa app of one front generation, one concern per middleware:
 * request id, metrics, log → error envelope → console page (no data,
 * so before auth) → auth →
 * JSON body → routes (405 for a wrong method). A successful GET /task is
 * answered before Koa by the fast path, and so is a plain POST /registe
 * (see createRequestListener).
 */
export function createApp(s: FrontServices, auth: Authenticator): Koa<FrontState> {
  const app = new Koa<FrontState>();
  app.silent = true; // errors become envelopes and log lines; Koa's own stderr printing is not wanted
  const router = new Router<FrontState>();
  registrationRoutes(router, s);
  taskRoutes(router, s);
  const index = new AppIndex(s.cache);
  statusRoutes(router, s, index);
  consoleRoutes(router, s, index);
  opsRoutes(router, s);
  componentRoutes(router, s);
  if (testFaultsEnabled()) testFaultRoutes(router, s);

  app.use(observe(s.log, s.metrics));
  app.use(errorEnvelope(s.log));
  app.use(consolePages());
  app.use(authenticate(auth));
  app.use(storeWriteGuard(s.storage));
  // The limit as a string of bytes (its type says string; bytes.parse reads a plain number).
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: String(BODY_LIMIT), strict: true }));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

/**
 * The HTTP server's request listener: the GET /task fast path, then the
 * POST /registe one, then Koa for everything else (bench/results/2026-11-24.md has the
 * numbers that put them first).
 * While draining, `Connection: close` is added to every answer by the
 * Drainer's own request listener, whichever of the three writes it.
 */
export function createRequestListener(s: FrontServices, auth: Authenticator): RequestListener {
  const koa = createApp(s, auth).callback();
  // Koa answers its own errors (ctx.onerror): the promise it returns never rejects.
  const listener = fastQuery(
    s,
    auth,
    fastRegistration(s, auth, BODY_LIMIT, (req, res) => void koa(req, res)),
  );
  return hostRequired(s.config.compat === 'v0' ? compatV0(listener) : listener);
}
