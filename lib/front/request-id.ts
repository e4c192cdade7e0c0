import { randomUUID } from 'node:crypto';

/** A client's X-Request-Id is kept when it is a short, log-safe word. */
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The id of a request: the client's X-Request-Id when usable, else a new one. */
export function requestId(given: string | string[] | undefined): string {
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}
