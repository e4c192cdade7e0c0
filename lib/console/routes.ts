import Router from '@koa/router';
import type { Next } from 'koa';
import { AppIndex } from '../front/app-index.js';
import { FrontContext, FrontState } from '../front/context.js';
import { envelope } from '../front/envelope.js';
import { scopedTotals } from '../front/routes/status.js';
import { FrontServices } from '../front/front-services.js';
import { Asset, loadModules, webDir } from './assets.js';
import { FAVICON_SVG, PAGE_HTML } from './page.js';
import { CONSOLE_CSS } from './style.js';

/** The page may load only its own files and talk only to this server; nothing inline. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const text = (type: string, body: string): Asset => ({ type, body: Buffer.from(body) });

/**
 * GET /console (the page), /console/assets/<file> (its modules, style and
 * icon) and GET / (a redirect to the page). They hold no data, so they are
 * served before authentication: the page asks for a token and sends it
 * with every API call it makes.
 */
export function consolePages() {
  const assets = loadModules(webDir());
  const built = assets.has('main.js');
  assets.set('console.css', text('text/css; charset=utf-8', CONSOLE_CSS));
  assets.set('favicon.svg', text('image/svg+xml', FAVICON_SVG));
  const page = text('text/html; charset=utf-8', PAGE_HTML);

  return async (ctx: FrontContext, next: Next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path === '/' || ctx.path === '/console/') {
      ctx.status = 302;
      // Relative, so that it still works behind a proxy that serves the API under a path.
      ctx.set('Location', ctx.path === '/' ? 'console' : '../console');
      ctx.body = envelope(302, '', 'console');
      return;
    }
    let asset: Asset | undefined;
    if (ctx.path === '/console') asset = page;
    else if (ctx.path.startsWith('/console/assets/')) asset = assets.get(ctx.path.slice('/console/assets/'.length));
    else return next();
    if (!asset || !built) {
      ctx.status = built ? 404 : 503;
      ctx.body = envelope(
        ctx.status,
        built
          ? `No console file ${ctx.path.slice(0, 200)}.`
          : 'The console was not built: run npm run build, then restart the server.',
        null,
      );
      return;
    }
    ctx.set('Content-Security-Policy', CONSOLE_CSP);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = asset.type;
    ctx.body = asset.body;
  };
}

/**
 * GET /console/session: what the caller's token may do (so the page shows
 * write controls only to a write token) and the totals over the apps it
 * may see. Behind authentication like every API route.
 */
export function consoleRoutes(router: Router<FrontState>, s: FrontServices, index: AppIndex): void {
  router.get('/console/session', (ctx) => {
    const token = ctx.state.token;
    ctx.body = envelope(200, '', {
      protected_mode: token === undefined,
      read_only: token?.readOnly ?? false,
      scoped: token?.appids !== undefined,
      totals: token?.appids ? scopedTotals(token.appids, s) : index.totals(),
    });
  });
}
