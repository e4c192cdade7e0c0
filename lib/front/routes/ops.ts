import Router from '@koa/router';
import { FrontState } from '../context.js';
import { envelope } from '../envelope.js';
import { openApiDocument } from '../openapi/document.js';
import { FrontServices } from '../front-services.js';

/** GET /healthz (open, with the build stamp in a header), GET /metrics and GET /openapi.json (open). */
export function opsRoutes(router: Router<FrontState>, s: FrontServices): void {
  const description = Buffer.from(JSON.stringify(openApiDocument()));
  router.get('/openapi.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = description;
  });
  router.get('/healthz', (ctx) => {
    ctx.set('X-Scheduler-Build', s.build);
    s.storage.check();
    s.storage.checkStorable();
    // Still serving what it has: a load balancer must keep sending queries here.
    const degraded = s.cluster?.degraded();
    ctx.body = envelope(200, '', degraded ? `degraded: ${degraded}` : 'ok');
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = s.metrics.registry.contentType;
    ctx.body = await s.metrics.registry.metrics();
  });
}
