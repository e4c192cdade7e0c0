// The control API under /__sim: configure apps, tokens and tickets, inject
// faults, and read counters and token validity. JSON in, JSON out; a bad
// body gets 400 with a sentence saying what is wrong.
import Router from '@koa/router';
import type { Context } from 'koa';
import {
  BadInput, asObject, oneOf, onlyKeys, optionalBoolean, optionalInteger, optionalString, requiredString,
} from './admin-input.js';
import { readJsonBody } from './body.js';
import { applyConfig } from './config.js';
import { parseFaultRule } from './faults.js';
import { REFRESH_KINDS } from './refresh-tokens.js';
import type { SimulatorState } from './state.js';
import { TOKEN_KINDS } from './token-registry.js';
import { TICKET_STATES } from './verify-tickets.js';

type Handler = (ctx: Context, body: unknown) => void;

export function adminRoutes(sim: SimulatorState): Router {
  const router = new Router({ prefix: '/__sim' });
  const on = (method: 'get' | 'post' | 'delete', path: string, handler: Handler) => {
    router[method](path, async (ctx: Context) => {
      const body = method === 'post' ? await readJsonBody(ctx.req) : { ok: true as const, value: undefined };
      try {
        if (!body.ok) throw new BadInput(body.reason);
        handler(ctx, body.value);
      } catch (err) {
        if (!(err instanceof BadInput)) throw err;
        ctx.status = 400;
        ctx.body = { error: err.message };
      }
    });
  };

  on('get', '/stats', (ctx) => { ctx.body = sim.stats.snapshot(); });
  on('get', '/config', (ctx) => { ctx.body = sim.config; });
  on('post', '/config', (ctx, body) => {
    applyConfig(sim.config, body);
    ctx.body = sim.config;
  });

  on('post', '/apps', (ctx, input) => {
    const body = asObject(input, '/__sim/apps');
    onlyKeys(body, ['appid', 'secret', 'expiresIn', 'invalid'], '/__sim/apps');
    const appid = requiredString(body, 'appid');
    const app = sim.apps.configure(appid, {
      secret: optionalString(body, 'secret'),
      expiresIn: optionalInteger(body, 'expiresIn', 1),
      invalid: optionalBoolean(body, 'invalid'),
    });
    // The secret is never echoed back.
    ctx.body = { ok: true, appid, hasSecret: app.secret !== undefined, expiresIn: app.expiresIn ?? null, invalid: app.invalid };
  });

  on('post', '/refresh-tokens', (ctx, input) => {
    const body = asObject(input, '/__sim/refresh-tokens');
    onlyKeys(body, ['token', 'kind', 'revoked', 'openid'], '/__sim/refresh-tokens');
    const token = requiredString(body, 'token');
    const record = sim.refreshTokens.seed(token, {
      kind: oneOf(body, 'kind', REFRESH_KINDS, true) ?? 'oauth',
      revoked: optionalBoolean(body, 'revoked'),
      openid: optionalString(body, 'openid'),
    });
    ctx.body = { ok: true, token, ...record };
  });

  on('post', '/tickets', (ctx, input) => {
    const body = asObject(input, '/__sim/tickets');
    onlyKeys(body, ['ticket', 'state'], '/__sim/tickets');
    const ticket = requiredString(body, 'ticket');
    const state = oneOf(body, 'state', TICKET_STATES, true) ?? 'valid';
    sim.verifyTickets.mark(ticket, state);
    ctx.body = { ok: true, ticket, state };
  });

  on('get', '/faults', (ctx) => { ctx.body = { faults: sim.faults.list() }; });
  on('post', '/faults', (ctx, body) => {
    sim.faults.push(parseFaultRule(body));
    ctx.body = { ok: true, pending: sim.faults.list().length };
  });
  on('delete', '/faults', (ctx) => {
    sim.faults.clear();
    ctx.body = { ok: true };
  });

  on('get', '/valid', (ctx) => {
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
    const check = sim.tokens.check(token, sim.now());
    const r = check.record;
    ctx.body = { valid: check.status === 'valid', kind: r?.kind ?? null, owner: r?.owner ?? null, expiresAt: r?.expiresAt ?? null };
  });

  on('get', '/latest', (ctx) => {
    const query = { kind: ctx.query.kind, owner: ctx.query.owner };
    const kind = oneOf(query, 'kind', TOKEN_KINDS, true) ?? 'access_token';
    const owner = requiredString(query, 'owner');
    const latest = sim.tokens.latest(kind, owner);
    if (!latest) {
      ctx.status = 404;
      ctx.body = { error: `No ${kind} was issued for ${owner}.` };
      return;
    }
    ctx.body = { token: latest.value, expiresAt: latest.expiresAt };
  });

  on('post', '/reset', (ctx) => {
    sim.reset();
    ctx.body = { ok: true };
  });

  return router;
}
