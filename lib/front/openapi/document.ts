import { packageVersion } from '../../version.js';
import { error, headers, r, responses } from './responses.js';
import { okEnvelope, ref, schemas } from './schemas.js';

/** GET /openapi.json: the API as OpenAPI 3.1, built from the same constants the routes use. */

const json = (schema: object) => ({ 'application/json': { schema } });
const ok = (description: string, result: object, extraHeaders: Record<string, unknown> = {}) => ({
  description,
  headers: { 'X-Request-Id': { $ref: '#/components/headers/RequestId' }, ...extraHeaders },
  content: json(okEnvelope(result)),
});
const SUCCESS = { const: 'success' };

const appidPath = (name = 'appid') => ({ name, in: 'path', required: true, schema: ref('Appid') });
const typePath = { name: 'type', in: 'path', required: true, schema: ref('TaskType') };
const selectors = [
  {
    name: 'authorizer_appid',
    in: 'query',
    schema: ref('Appid'),
    description: 'Type 4: which authorizer (needed when the component has several).',
  },
  {
    name: 'openid',
    in: 'query',
    schema: { type: 'string', maxLength: 128 },
    description: 'Type 2: whose OAuth2 token (needed when the app has several).',
  },
];
const detail = {
  name: 'detail',
  in: 'query',
  schema: { enum: ['1', 'true', '0', 'false'] },
  description: '1 (or true): `result` is {value, expires_at, refreshed_at} instead of the value alone.',
};
const authErrors = { 401: r('Unauthorized'), 403: r('Forbidden'), 500: r('InternalError') };
const valueResult = {
  oneOf: [{ type: 'string', minLength: 1, description: 'The value (without ?detail=1).' }, ref('TaskDetail')],
};

const registration = {
  tags: ['registration'],
  summary: 'Register an app and its tasks (again: the last appsecret, notify and params win)',
  description:
    'Answered once the registration is durable; the first fetch starts at once. Under compat "v0" the body is read as JSON whatever its Content-Type.',
  requestBody: { required: true, content: json(ref('Registration')) },
  responses: {
    200: ok('Registered.', SUCCESS),
    400: r('BadRequest'),
    413: r('PayloadTooLarge'),
    415: r('UnsupportedMediaType'),
    503: r('Unavailable'),
    507: r('DiskFull'),
    ...authErrors,
  },
};

const paths = {
  '/registe': { post: { ...registration, operationId: 'registe' } },
  '/register': { post: { ...registration, operationId: 'register' } },
  '/task/{appid}/{type}': {
    parameters: [appidPath(), typePath],
    get: {
      operationId: 'getTask',
      tags: ['tasks'],
      summary: 'The current value of a task: never one whose lifetime has run out',
      parameters: [...selectors, detail],
      responses: {
        200: ok('The value, or with ?detail=1 the value and its lifetime.', valueResult),
        400: r('BadRequest'),
        404: r('NotFound'),
        503: r('NoValue'),
        ...authErrors,
      },
    },
    delete: {
      operationId: 'deleteTask',
      tags: ['tasks'],
      summary: 'Unregister one task; its timers stop',
      parameters: selectors,
      responses: {
        200: ok('Unregistered.', SUCCESS),
        400: r('BadRequest'),
        404: r('NotFound'),
        503: r('Unavailable'),
        507: r('DiskFull'),
        ...authErrors,
      },
    },
  },
  '/task/{appid}/{type}/refresh': {
    parameters: [appidPath(), typePath],
    post: {
      operationId: 'refreshTask',
      tags: ['tasks'],
      summary: 'Forced ("passive") refresh, after WeChat rejected a value (40001)',
      description:
        'With `stale`: fetches only when `stale` is still the current value (a compare-and-swap; concurrent calls share one WeChat fetch), else answers the current value. Without: fetches at most once per task per refresh interval.',
      parameters: [...selectors, detail],
      requestBody: { required: false, content: json(ref('Stale')) },
      responses: {
        200: ok('The value now current.', valueResult, {
          'X-Scheduler-Refresh': { ...headers.SchedulerRefresh, required: true },
          'X-Scheduler-Refresh-Note': headers.SchedulerRefreshNote,
        }),
        400: r('BadRequest'),
        404: r('NotFound'),
        415: r('UnsupportedMediaType'),
        503: r('Unavailable'),
        507: r('DiskFull'),
        ...authErrors,
      },
    },
  },
  '/app/{appid}': {
    parameters: [appidPath()],
    delete: {
      operationId: 'deleteApp',
      tags: ['tasks'],
      summary: 'Unregister an app and all its tasks; its secrets leave the store',
      responses: {
        200: ok('Unregistered.', SUCCESS),
        404: r('NotFound'),
        503: r('Unavailable'),
        507: r('DiskFull'),
        ...authErrors,
      },
    },
  },
  '/app/{appid}/clear-quota': {
    parameters: [appidPath()],
    post: {
      operationId: 'clearQuota',
      tags: ['open platform'],
      summary: "Reset the app's API call quota (WeChat clear_quota/v2)",
      responses: {
        200: ok("WeChat's answer.", ref('WechatResult')),
        404: r('NotFound'),
        409: r('Conflict'),
        502: r('BadGateway'),
        503: r('Unavailable'),
        ...authErrors,
      },
    },
  },
  '/apps': {
    get: {
      operationId: 'listApps',
      tags: ['status'],
      summary: 'Status of the apps (no secrets, no values), a page at a time by appid',
      parameters: [
        {
          name: 'prefix',
          in: 'query',
          schema: { type: 'string', maxLength: 64 },
          description: 'Only appids starting with this.',
        },
        {
          name: 'state',
          in: 'query',
          schema: { enum: ['pending', 'ready', 'failing'] },
          description: 'Only apps with a task in this state.',
        },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        {
          name: 'after',
          in: 'query',
          schema: { type: 'string', maxLength: 128 },
          description: '`next` of the previous page.',
        },
      ],
      responses: { 200: ok('One page.', ref('AppsPage')), 400: r('BadRequest'), ...authErrors },
    },
  },
  '/apps/{appid}': {
    parameters: [appidPath()],
    get: {
      operationId: 'getApp',
      tags: ['status'],
      summary: "Status of one app's tasks",
      responses: { 200: ok('The app.', ref('AppStatus')), 404: r('NotFound'), ...authErrors },
    },
  },
  '/cluster': {
    get: {
      operationId: 'getCluster',
      tags: ['status'],
      summary: 'The instances sharing the store (cluster mode only: with --store redis://…)',
      'x-cluster-mode-only': true,
      responses: {
        200: ok('The live instances and which one answered.', ref('Cluster')),
        404: r('NotFound'),
        ...authErrors,
      },
    },
  },
  '/component/{component_appid}/events': {
    parameters: [appidPath('component_appid')],
    post: {
      operationId: 'componentEvents',
      tags: ['open platform'],
      summary: 'The platform\'s "authorization event URL": WeChat\'s encrypted pushes (verify tickets, authorizations)',
      description: "No API token: WeChat's msg_signature authenticates it.",
      security: [],
      parameters: ['timestamp', 'nonce', 'msg_signature', 'encrypt_type'].map((name) => ({
        name,
        in: 'query',
        required: name !== 'encrypt_type',
        schema: { type: 'string' },
      })),
      requestBody: {
        required: true,
        content: { 'application/xml': { schema: { type: 'string' } }, 'text/xml': { schema: { type: 'string' } } },
      },
      responses: {
        200: { description: 'Taken.', content: { 'text/plain': { schema: { const: 'success' } } } },
        400: error(
          400,
          "Not a message of WeChat's format (query, XML, base64, AES blocks, padding, fields); nothing changed.",
        ),
        401: error(
          401,
          'The signature or an appid does not match, or the component has no push settings; nothing changed.',
        ),
        404: r('NotFound'),
        413: error(413, 'The body is larger than 64 KiB, which no WeChat event is.'),
        415: error(415, "The body is JSON; WeChat's events are XML."),
        502: r('BadGateway'),
        503: r('Unavailable'),
        500: r('InternalError'),
      },
    },
  },
  '/component/{component_appid}/authorizers/import': {
    parameters: [appidPath('component_appid')],
    post: {
      operationId: 'importAuthorizers',
      tags: ['open platform'],
      summary: 'Register a type 4 task for every authorizer of the component (api_get_authorizer_list)',
      responses: {
        200: ok('How many were new and how many were already registered.', ref('ImportResult')),
        400: r('BadRequest'),
        404: r('NotFound'),
        502: r('BadGateway'),
        503: r('Unavailable'),
        ...authErrors,
      },
    },
  },
  '/healthz': {
    get: {
      operationId: 'health',
      tags: ['operations'],
      summary: 'Liveness (no token needed)',
      security: [],
      responses: {
        200: ok(
          '"ok", or "degraded: <reason>" while the store is unavailable.',
          { type: 'string', pattern: '^(ok|degraded: .+)$' },
          {
            'X-Scheduler-Build': headers.SchedulerBuild,
          },
        ),
        403: r('Forbidden'),
        503: r('Unavailable'),
      },
    },
  },
  '/metrics': {
    get: {
      operationId: 'metrics',
      tags: ['operations'],
      summary: 'Prometheus metrics (text exposition format)',
      responses: {
        200: { description: 'Metrics.', content: { 'text/plain': { schema: { type: 'string' } } } },
        ...authErrors,
      },
    },
  },
  '/openapi.json': {
    get: {
      operationId: 'openapi',
      tags: ['operations'],
      summary: 'This description (no token needed)',
      security: [],
      responses: {
        200: {
          description: 'OpenAPI 3.1.',
          content: { 'application/json': { schema: { type: 'object', required: ['openapi'] } } },
        },
      },
    },
  },
  '/console': {
    get: {
      operationId: 'console',
      tags: ['operations'],
      summary: 'The web console (one self-contained page; it uses this API with a token typed in)',
      security: [],
      responses: { 200: { description: 'The page.', content: { 'text/html': { schema: { type: 'string' } } } } },
    },
  },
  '/console/session': {
    get: {
      operationId: 'consoleSession',
      tags: ['operations'],
      summary: "What the caller's token may do, and the totals over the apps it may see (for the web console)",
      responses: {
        200: ok('The session.', {
          type: 'object',
          required: ['protected_mode', 'read_only', 'scoped', 'totals'],
          additionalProperties: false,
          properties: {
            protected_mode: { type: 'boolean', description: 'No token is configured; the caller is on loopback.' },
            read_only: { type: 'boolean' },
            scoped: {
              type: 'boolean',
              description: 'The token is limited to some appids; the totals count only those.',
            },
            totals: {
              type: 'object',
              required: ['apps', 'tasks', 'fetch_count', 'fail_count'],
              additionalProperties: false,
              properties: {
                apps: { type: 'integer', minimum: 0 },
                tasks: {
                  type: 'object',
                  required: ['pending', 'ready', 'failing'],
                  additionalProperties: false,
                  properties: {
                    pending: { type: 'integer', minimum: 0 },
                    ready: { type: 'integer', minimum: 0 },
                    failing: { type: 'integer', minimum: 0 },
                  },
                },
                fetch_count: { type: 'integer', minimum: 0 },
                fail_count: { type: 'integer', minimum: 0 },
              },
            },
          },
        }),
        ...authErrors,
      },
    },
  },
  '/': {
    get: {
      operationId: 'root',
      tags: ['operations'],
      summary: 'Redirects to /console',
      security: [],
      responses: {
        302: {
          description:
            'To the console: a relative reference, so that it also works behind a proxy that serves the API under a path.',
          headers: { Location: { required: true, schema: { const: 'console' } } },
        },
      },
    },
  },
};

export function openApiDocument(): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'wechat-scheduler',
      version: packageVersion(),
      description:
        'A WeChat access_token central-control server (微信 access_token 中控服务器). Every answer is the envelope {"code","message","result"} with the HTTP status equal to `code` (under config `compat: "v0"` every JSON answer is HTTP 200 and only `code` tells). With API tokens configured every route but /healthz, /openapi.json, /console and the component events needs `Authorization: Bearer <token>`; with none, only loopback clients are served.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: [
      { name: 'registration' },
      { name: 'tasks' },
      { name: 'status' },
      { name: 'open platform' },
      { name: 'operations' },
    ],
    paths,
    components: {
      schemas,
      responses,
      headers,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API token from --token, WECHAT_SCHEDULER_TOKEN or "tokens" in the config file.',
        },
      },
    },
  };
}
