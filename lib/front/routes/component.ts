import Router from '@koa/router';
import type { IncomingMessage } from 'node:http';
import { readComponentEvent } from '../../contract/component-event.js';
import { ApiError, badRequest } from '../../contract/errors.js';
import { PushSettings } from '../../contract/params.js';
import { ownerError } from '../owner-error.js';
import { ShardCommand } from '../../contract/messages.js';
import { TaskType } from '../../contract/task-type.js';
import { FlatXmlError, parseFlatXml } from '../../wechat/flat-xml.js';
import { MsgCrypto, MsgCryptoError } from '../../wechat/msg-crypto.js';
import { checkScope } from '../auth.js';
import { FrontContext, FrontState } from '../context.js';
import { envelope } from '../envelope.js';
import { FrontServices } from '../front-services.js';
import { pathAppid } from './route-params.js';

/** WeChat's event messages are a few hundred bytes; anything much larger is not one. */
export const EVENT_BODY_LIMIT = 64 * 1024;

/** The events route takes no API token: WeChat's msg_signature authenticates it. */
export const EVENTS_PATH = /^\/component\/[A-Za-z0-9_-]{1,64}\/events\/?$/;

const unauthorized = (reason: string, msg: string) => new ApiError(401, reason, msg);

/** The raw body, refused past `limit` bytes without reading the rest. */
async function rawBody(req: IncomingMessage, limit: number): Promise<string> {
  const tooLarge = () =>
    new ApiError(413, 'too_large', `The request body is larger than ${limit / 1024} KiB, which no WeChat event is.`);
  if (Number(req.headers['content-length'] ?? 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) throw tooLarge();
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function queryField(ctx: FrontContext, name: string): string {
  const v = ctx.query[name];
  return typeof v === 'string' ? v : '';
}

/** The push settings of the component's type-3 task; 401 for an appid without them (and for one not registered). */
async function pushOf(s: FrontServices, appid: string): Promise<PushSettings> {
  const push = (await s.store.getApp(appid))?.tasks.find(
    (t) => t.type === TaskType.ComponentToken && t.sub === '',
  )?.push;
  if (!push) {
    throw unauthorized(
      'no_push',
      `No component with push settings is registered as ${appid}: register its type 3 task with "push": {"token", "encoding_aes_key"} to receive WeChat's events here.`,
    );
  }
  return push;
}

function xml(text: string, what: string): Map<string, string> {
  try {
    return parseFlatXml(text);
  } catch (e) {
    if (e instanceof FlatXmlError) throw badRequest('bad_xml', `${what}: ${e.message}`);
    throw e;
  }
}

/** Ask the component's owner; its answer error becomes ours. The front's copy of the app is re-read after. */
async function ask(s: FrontServices, appid: string, cmd: ShardCommand): Promise<Record<string, unknown> | null> {
  const reply = await s.owner.send(appid, cmd);
  s.cache.reloadApp(appid);
  if (reply.kind === 'error') throw ownerError(reply, 'component_failed');
  return reply.kind === 'result' ? reply.result : null;
}

/**
 * POST /component/:appid/events (WeChat's pushes, signed and encrypted),
 * POST /component/:appid/authorizers/import and POST /app/:appid/clear-quota
 * (the component variant of clear_quota for an app with a type-3 task).
 */
export function componentRoutes(router: Router<FrontState>, s: FrontServices): void {
  router.post('/component/:appid/events', async (ctx) => {
    const appid = pathAppid(ctx.params.appid);
    if (ctx.is('application/json'))
      throw new ApiError(415, 'not_xml', "WeChat's events are XML: <xml><AppId/><Encrypt/></xml>.");
    const timestamp = queryField(ctx, 'timestamp');
    const nonce = queryField(ctx, 'nonce');
    const signature = queryField(ctx, 'msg_signature');
    const encryptType = queryField(ctx, 'encrypt_type');
    if (!timestamp || !nonce || !signature || timestamp.length > 64 || nonce.length > 64 || signature.length > 64) {
      throw badRequest('bad_query', 'The query must carry timestamp, nonce and msg_signature, as WeChat sends them.');
    }
    if (encryptType !== '' && encryptType !== 'aes')
      throw badRequest('bad_query', 'encrypt_type must be aes: only encrypted (安全模式) messages are accepted.');
    const push = await pushOf(s, appid);
    const outer = xml(await rawBody(ctx.req, EVENT_BODY_LIMIT), "The body is not WeChat's event XML");
    const encrypt = outer.get('Encrypt');
    if (!encrypt) throw badRequest('bad_xml', 'The body has no <Encrypt> element.');
    const crypto = new MsgCrypto(push.token, push.encodingAesKey, appid);
    if (!crypto.verify(signature, timestamp, nonce, encrypt)) {
      throw unauthorized(
        'bad_signature',
        "msg_signature does not match: the message is not signed with this component's push token.",
      );
    }
    const outerAppid = outer.get('AppId') ?? outer.get('ToUserName');
    if (outerAppid !== undefined && outerAppid !== appid)
      throw unauthorized('wrong_appid', `The message is addressed to another appid, not ${appid}.`);
    let plain: string;
    try {
      plain = crypto.decrypt(encrypt);
    } catch (e) {
      if (!(e instanceof MsgCryptoError)) throw e;
      if (e.reason === 'wrong_appid') throw unauthorized('wrong_appid', `${e.message} It is not for ${appid}.`);
      throw badRequest(e.reason, `${e.message} It cannot be read with this component's encoding_aes_key.`);
    }
    const inner = xml(plain, "The decrypted message is not WeChat's event XML");
    const innerAppid = inner.get('AppId');
    if (innerAppid !== undefined && innerAppid !== appid)
      throw unauthorized('wrong_appid', `The decrypted message names another appid, not ${appid}.`);
    const event = readComponentEvent(inner);
    if (typeof event === 'string') throw badRequest('bad_event', event);
    await ask(s, appid, { kind: 'component-event', appid, event });
    ctx.state.log = { msg: 'component event', fields: { appid, infoType: event.fields.InfoType } };
    ctx.type = 'text/plain';
    ctx.body = 'success';
  });

  router.post('/component/:appid/authorizers/import', async (ctx) => {
    const appid = pathAppid(ctx.params.appid);
    checkScope(ctx.state.token, appid, true);
    const result = await ask(s, appid, { kind: 'component-import', appid });
    ctx.state.log = { msg: 'authorizers imported', fields: { appid, ...result } };
    ctx.body = envelope(200, '', result);
  });

  const clearQuota = async (ctx: FrontContext) => {
    const appid = pathAppid(ctx.params.appid ?? '');
    checkScope(ctx.state.token, appid, true);
    const result = await ask(s, appid, { kind: 'clear-quota', appid });
    ctx.body = envelope(200, '', result);
  };
  router.post('/app/:appid/clear-quota', clearQuota);
}
