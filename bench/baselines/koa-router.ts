// Baseline: a minimal Koa 3 + @koa/router app answering GET /task/:appid/:type
// from a Map (Koa serialises the envelope). What the product would cost if
// every query walked an ordinary router.
import Router from '@koa/router';
import Koa from 'koa';
import { AddressInfo } from 'node:net';

const entries = JSON.parse(process.env.BENCH_ENTRIES ?? '{}') as Record<string, string>;
const values = new Map<string, string>(Object.entries(entries));

const app = new Koa();
const router = new Router();
router.get('/task/:appid/:type', (ctx) => {
  const v = values.get(`${ctx.params.appid}/${ctx.params.type}`);
  if (v === undefined) {
    ctx.status = 404;
    ctx.body = { code: 404, message: 'not found', result: null };
    return;
  }
  ctx.body = { code: 200, message: '', result: v };
});
app.use(router.routes());
app.use(router.allowedMethods());
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
