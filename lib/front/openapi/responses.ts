import { errorEnvelope } from './schemas.js';

/** The error answers routes share, and the headers they carry. */

export const headers = {
  RetryAfter: {
    description: 'Seconds until asking again is worthwhile (at most 300).',
    schema: { type: 'string', pattern: '^[0-9]+$' },
  },
  WWWAuthenticate: { description: 'Always `Bearer`.', schema: { const: 'Bearer' } },
  RequestId: {
    description:
      "The request's id in the server log: the client's X-Request-Id when it sent a sane one, else a new UUID.",
    schema: { type: 'string' },
  },
  SchedulerRefresh: {
    description:
      '`fetched`: WeChat was asked (for this call, or shared with concurrent ones); `current`: nothing was fetched, the current value is returned (`stale` is not the current value, or within the refresh interval).',
    schema: { enum: ['fetched', 'current'] },
  },
  SchedulerRefreshNote: {
    description: 'Why, when there is more to say (e.g. "stale is not the current value").',
    schema: { type: 'string' },
  },
  SchedulerBuild: {
    description: 'The build of the code answering (changes when a reload brings new code).',
    schema: { type: 'string' },
  },
} as const;

const hdr = (name: keyof typeof headers) => ({ $ref: `#/components/headers/${name}` });

export const error = (code: number, description: string, extra: Record<string, unknown> = {}) => ({
  description,
  headers: { 'X-Request-Id': hdr('RequestId'), ...extra },
  content: { 'application/json': { schema: errorEnvelope(code) } },
});

export const responses = {
  BadRequest: error(400, 'A path parameter, query or body field is wrong; the message names it.'),
  Unauthorized: error(401, 'No or wrong API token.', {
    'WWW-Authenticate': { ...headers.WWWAuthenticate, required: true },
  }),
  Forbidden: error(
    403,
    'The token may not do this (read-only, or scoped to other appids), or protected mode refuses a non-loopback client.',
  ),
  NotFound: error(404, 'The appid or task is not registered.'),
  Conflict: error(409, 'WeChat refused: the resets of this month are used up (48006).'),
  PayloadTooLarge: error(413, 'The body is larger than 1 MiB.'),
  UnsupportedMediaType: error(
    415,
    'The body is not JSON (Content-Type: application/json), or its encoding or charset is not supported.',
  ),
  BadGateway: error(502, 'WeChat answered with an error; the message has its errcode and errmsg.'),
  NoValue: error(503, 'No unexpired value yet (first fetch pending or failing); the message has the last error.', {
    'Retry-After': { ...headers.RetryAfter, required: true },
  }),
  Unavailable: error(
    503,
    'Cannot be done now: the fetch failed, the owner of the app did not answer, the store is unavailable, or the data directory was removed under the server; try again (or restart, as the message says).',
    {
      'Retry-After': headers.RetryAfter,
    },
  ),
  DiskFull: error(507, 'The data directory is full: nothing was stored; free space on its disk and retry.'),
  InternalError: error(500, 'An unexpected error; the server log has the details.'),
} as const;

/** A response by its name in components.responses. */
export const r = (name: keyof typeof responses) => ({ $ref: `#/components/responses/${name}` });
