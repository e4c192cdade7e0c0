// The control API under /__sim: configure apps, tokens and tickets, inject
// faults, and read counters and token validity. JSON in, JSON out; a bad
// body gets 400 with a sentence saying what is wrong.
import Router from '@koa/router';
import type { Context } from 'koa';
import {
  BadInput,
  asObject,
  oneOf,
  onlyKeys,
  optionalBoolean,
  optionalInteger,
  optionalString,
  requiredString,
} from './admin-input.js';
import { readJsonBody } from './body.js';
import { applyConfig } from './config.js';
import { parseFaultRule } from './faults.js';
import { REFRESH_KINDS } from './refresh-tokens.js';
import type { SimulatorState } from './state.js';
import { TOKEN_KINDS } from './token-registry.js';
import { TICKET_STATES } from './verify-tickets.js';
import { randomHex } from './random-hex.js';

const PUSH_EVENTS = ['component_verify_ticket', 'authorized', 'updateauthorized', 'unauthorized'] as const;

type Handler = (ctx: Context, body: unknown) => void | Promise<void>;

export function adminRoutes(sim: SimulatorState): Router {
  const router = new Router({ prefix: '/__sim' });
  const on = (method: 'get' | 'post' | 'delete', path: string, handler: Handler) => {
    router[method](path, async (ctx: Context) => {
      const body = method === 'post' ? await readJsonBody(ctx.req) : { ok: true as const, value: undefined };
      try {
        if (!body.ok) throw new BadInput(body.reason);
        await handler(ctx, body.value);
      } catch (err) {
        if (!(err instanceof BadInput)) throw err;
        ctx.status = 400;
        ctx.body = { error: err.message };
      }
    });
  };

  on('get', '/stats', (ctx) => {
    ctx.body = sim.stats.snapshot();
  });
  on('get', '/config', (ctx) => {
    ctx.body = sim.config;
  });
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
    ctx.body = {
      ok: true,
      appid,
      hasSecret: app.secret !== undefined,
      expiresIn: app.expiresIn ?? null,
      invalid: app.invalid,
    };
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

  // A third-party platform's event URL and its message token and EncodingAESKey, as set on open.weixin.qq.com.
  on('post', '/components', (ctx, input) => {
    const body = asObject(input, '/__sim/components');
    onlyKeys(body, ['component_appid', 'url', 'token', 'encoding_aes_key'], '/__sim/components');
    const component = requiredString(body, 'component_appid');
    try {
      sim.pushTargets.set(component, {
        url: requiredString(body, 'url'),
        token: requiredString(body, 'token'),
        encodingAesKey: requiredString(body, 'encoding_aes_key'),
      });
    } catch (err) {
      if (err instanceof RangeError) throw new BadInput(err.message);
      throw err;
    }
    ctx.body = { ok: true, component_appid: component };
  });

  // Accounts authorize a component without a push (bulk, for api_get_authorizer_list).
  on('post', '/authorizers', (ctx, input) => {
    const body = asObject(input, '/__sim/authorizers');
    onlyKeys(body, ['component_appid', 'authorizers'], '/__sim/authorizers');
    const component = requiredString(body, 'component_appid');
    const list = body.authorizers;
    if (!Array.isArray(list) || list.length > 100_000)
      throw new BadInput('Field "authorizers" must be an array of at most 100000 {authorizer_appid, refresh_token?}.');
    const out = list.map((a) => {
      const entry = asObject(a, '/__sim/authorizers entry');
      onlyKeys(entry, ['authorizer_appid', 'refresh_token'], '/__sim/authorizers entry');
      const { auth } = sim.authorizers.authorize(
        component,
        requiredString(entry, 'authorizer_appid'),
        sim.now(),
        optionalString(entry, 'refresh_token'),
      );
      return { authorizer_appid: auth.authorizerAppid, refresh_token: auth.refreshToken };
    });
    ctx.body = { ok: true, authorizers: out };
  });

  // WeChat pushes one event to the component's event URL (encrypted and signed), and says what the URL answered.
  on('post', '/push', async (ctx, input) => {
    const body = asObject(input, '/__sim/push');
    onlyKeys(body, ['component_appid', 'info_type', 'authorizer_appid', 'create_time'], '/__sim/push');
    const component = requiredString(body, 'component_appid');
    if (!sim.pushTargets.get(component))
      throw new BadInput(`No push URL is configured for ${component}; POST /__sim/components first.`);
    const infoType = oneOf(body, 'info_type', PUSH_EVENTS, true) ?? 'component_verify_ticket';
    const createTime = optionalInteger(body, 'create_time', 0) ?? Math.floor(sim.now() / 1000);
    const now = sim.now();
    if (infoType === 'component_verify_ticket') {
      const ticket = `ticket@@@${randomHex(24)}`;
      sim.verifyTickets.mark(ticket, 'valid');
      const push = await sim.pushTargets.push(
        component,
        { AppId: component, CreateTime: createTime, InfoType: infoType, ComponentVerifyTicket: ticket },
        now,
      );
      ctx.body = { ...push, ticket };
      return;
    }
    const authorizer = requiredString(body, 'authorizer_appid');
    if (infoType === 'unauthorized') {
      sim.authorizers.unauthorize(component, authorizer);
      ctx.body = await sim.pushTargets.push(
        component,
        { AppId: component, CreateTime: createTime, InfoType: infoType, AuthorizerAppid: authorizer },
        now,
      );
      return;
    }
    const { auth, code } = sim.authorizers.authorize(component, authorizer, now);
    const push = await sim.pushTargets.push(
      component,
      {
        AppId: component,
        CreateTime: createTime,
        InfoType: infoType,
        AuthorizerAppid: authorizer,
        AuthorizationCode: code,
        AuthorizationCodeExpiredTime: createTime + 3600,
        PreAuthCode: `preauthcode@@@${randomHex(16)}`,
      },
      now,
    );
    ctx.body = { ...push, authorization_code: code, authorizer_refresh_token: auth.refreshToken };
  });

  on('get', '/faults', (ctx) => {
    ctx.body = { faults: sim.faults.list() };
  });
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
    ctx.body = {
      valid: check.status === 'valid',
      status: check.status,
      kind: r?.kind ?? null,
      owner: r?.owner ?? null,
      expiresAt: r?.expiresAt ?? null,
    };
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
