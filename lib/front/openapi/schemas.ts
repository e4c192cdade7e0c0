import { MAX_TASKS } from '../../contract/registration.js';
import { MAX_TASK_TYPE } from '../../contract/task-type.js';

/** The JSON Schema (2020-12, as OpenAPI 3.1 uses it) of every body the API takes or gives. */

const ID = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' };
const TIME = { type: 'string', format: 'date-time' };
const TIME_OR_NULL = { type: ['string', 'null'], format: 'date-time' };

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** A success envelope around `result`. */
export const okEnvelope = (result: object) => ({
  type: 'object',
  required: ['code', 'message', 'result'],
  additionalProperties: false,
  properties: { code: { const: 200 }, message: { const: '' }, result },
});

/** An error envelope of one status: `code` is the status (under compat "v0" the HTTP status is 200, the code unchanged). */
export const errorEnvelope = (code: number) => ({
  type: 'object',
  required: ['code', 'message', 'result'],
  additionalProperties: false,
  properties: {
    code: { const: code },
    message: { type: 'string', minLength: 1, description: 'A sentence saying what went wrong and what to do.' },
    result: { type: 'null' },
  },
});

export const schemas = {
  Appid: { ...ID, description: 'A WeChat appid (or component appid): 1-64 of A-Z, a-z, 0-9, _ or -.' },
  TaskType: {
    type: 'integer',
    minimum: 0,
    maximum: MAX_TASK_TYPE,
    description:
      '0 access_token, 1 jsapi_ticket, 2 OAuth2 access_token, 3 component_access_token, 4 authorizer_access_token, 5 wx_card api_ticket.',
  },
  Params: {
    description:
      'Where extra inputs come from: an absolute http(s) URL the server GETs, or static string values; "" for none.',
    oneOf: [{ type: 'string' }, { type: 'object', additionalProperties: { type: 'string', maxLength: 4096 } }],
  },
  ComponentPush: {
    type: 'object',
    description:
      "Type 3 only: the third-party platform's message settings, so WeChat's pushes (verify tickets, authorizations) reach POST /component/{component_appid}/events.",
    required: ['token', 'encoding_aes_key'],
    properties: {
      token: {
        type: 'string',
        pattern: '^[\\x21-\\x7e]{1,128}$',
        description: "The platform's message token (消息校验 Token).",
      },
      encoding_aes_key: {
        type: 'string',
        pattern: '^[A-Za-z0-9+/]{43}$',
        description: "The platform's EncodingAESKey (消息加解密 Key).",
      },
      notify: { type: 'string', description: 'Optional URL each event is also POSTed to as JSON.' },
    },
  },
  TaskRegistration: {
    type: 'object',
    required: ['type'],
    properties: {
      type: ref('TaskType'),
      notify: {
        type: 'string',
        description: 'Absolute http(s) URL POSTed WeChat\'s answer after every fetch; "" for none.',
      },
      params: ref('Params'),
      authorizer_appid: { ...ID, description: 'Type 4: the authorizer this task is for.' },
      openid: {
        type: 'string',
        pattern: '^[A-Za-z0-9_-]{1,128}$',
        description: 'Type 2: the user this OAuth2 token belongs to.',
      },
      stable: { type: 'boolean', description: 'Type 0: use /cgi-bin/stable_token.' },
      push: ref('ComponentPush'),
    },
  },
  Registration: {
    type: 'object',
    required: ['appid', 'appsecret', 'tasks'],
    properties: {
      appid: ref('Appid'),
      appsecret: { type: 'string', minLength: 1, maxLength: 512 },
      tasks: { type: 'array', minItems: 1, maxItems: MAX_TASKS, items: ref('TaskRegistration') },
    },
  },
  TaskDetail: {
    type: 'object',
    required: ['value', 'expires_at', 'refreshed_at'],
    additionalProperties: false,
    properties: {
      value: { type: 'string', minLength: 1 },
      expires_at: { ...TIME, description: 'When WeChat stops accepting the value (ISO 8601, UTC).' },
      refreshed_at: {
        ...TIME_OR_NULL,
        description: 'When it was fetched (null only for a value stored before this was recorded).',
      },
    },
  },
  Stale: {
    type: 'object',
    properties: { stale: { type: 'string', minLength: 1, maxLength: 4096, description: 'The value WeChat rejected.' } },
  },
  TaskStatus: {
    type: 'object',
    required: ['type', 'name', 'state', 'expires_at', 'refreshed_at', 'next_refresh_at', 'last_error'],
    properties: {
      type: ref('TaskType'),
      name: { type: 'string' },
      authorizer_appid: { type: ['string', 'null'] },
      openid: { type: ['string', 'null'] },
      state: { enum: ['pending', 'ready', 'failing'] },
      expires_at: TIME_OR_NULL,
      refreshed_at: TIME_OR_NULL,
      next_refresh_at: TIME_OR_NULL,
      last_error: { type: ['string', 'null'] },
      fetch_count: { type: 'integer', minimum: 0 },
      fail_count: { type: 'integer', minimum: 0 },
      owner: { type: ['string', 'null'], description: 'Cluster mode: the instance that refreshes this task.' },
    },
  },
  AppStatus: {
    type: 'object',
    required: ['appid', 'tasks'],
    properties: { appid: ref('Appid'), tasks: { type: 'array', items: ref('TaskStatus') } },
  },
  AppsPage: {
    type: 'object',
    required: ['total', 'next', 'apps'],
    properties: {
      total: { type: 'integer', minimum: 0, description: 'Apps matching the query, on every page.' },
      next: { type: ['string', 'null'], description: 'Pass as ?after= for the next page; null on the last.' },
      apps: { type: 'array', items: ref('AppStatus') },
    },
  },
  Cluster: {
    type: 'object',
    required: ['instances', 'self'],
    properties: {
      instances: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'apps', 'tasks', 'last_seen'],
          properties: {
            id: { type: 'string' },
            apps: { type: 'integer', minimum: 0 },
            tasks: { type: 'integer', minimum: 0 },
            last_seen: TIME,
          },
        },
      },
      self: { type: 'string' },
    },
  },
  ImportResult: {
    type: 'object',
    required: ['imported', 'existing'],
    properties: { imported: { type: 'integer', minimum: 0 }, existing: { type: 'integer', minimum: 0 } },
  },
  WechatResult: {
    type: 'object',
    description: 'WeChat\'s own answer, e.g. {"errcode":0,"errmsg":"ok"}.',
    properties: { errcode: { type: 'integer' }, errmsg: { type: 'string' } },
  },
} as const;
