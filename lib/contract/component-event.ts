/**
 * An event WeChat pushed to a third-party platform, decrypted and checked by
 * the front, handled by the component's owner. `fields` are the message's
 * own (InfoType, AppId, CreateTime, …), posted as they came to push.notify.
 */
export type ComponentEvent =
  | { kind: 'verify_ticket'; createTime: number; ticket: string; fields: Record<string, string> }
  | { kind: 'authorized'; createTime: number; authorizerAppid: string; code: string; fields: Record<string, string> }
  | { kind: 'unauthorized'; createTime: number; authorizerAppid: string; fields: Record<string, string> }
  /** Anything else (e.g. notify_third_fasteregister): only posted to push.notify. */
  | { kind: 'other'; createTime: number; fields: Record<string, string> };

const APPID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** The event in a decrypted message's fields; a sentence for a message that is not a well-formed one. */
export function readComponentEvent(fields: Map<string, string>): ComponentEvent | string {
  const obj = Object.fromEntries(fields);
  const infoType = fields.get('InfoType') ?? '';
  const createTime = Number(fields.get('CreateTime') ?? '');
  if (!Number.isSafeInteger(createTime) || createTime < 0) return 'The message has no CreateTime.';
  const authorizer = fields.get('AuthorizerAppid') ?? '';
  switch (infoType) {
    case 'component_verify_ticket': {
      const ticket = fields.get('ComponentVerifyTicket') ?? '';
      if (ticket === '' || ticket.length > 512)
        return 'The component_verify_ticket message has no ComponentVerifyTicket.';
      return { kind: 'verify_ticket', createTime, ticket, fields: obj };
    }
    case 'authorized':
    case 'updateauthorized': {
      const code = fields.get('AuthorizationCode') ?? '';
      if (!APPID_RE.test(authorizer)) return `The ${infoType} message has no valid AuthorizerAppid.`;
      if (code === '' || code.length > 512) return `The ${infoType} message has no AuthorizationCode.`;
      return { kind: 'authorized', createTime, authorizerAppid: authorizer, code, fields: obj };
    }
    case 'unauthorized':
      if (!APPID_RE.test(authorizer)) return 'The unauthorized message has no valid AuthorizerAppid.';
      return { kind: 'unauthorized', createTime, authorizerAppid: authorizer, fields: obj };
    case '':
      return 'The message has no InfoType.';
    default:
      return { kind: 'other', createTime, fields: obj };
  }
}
