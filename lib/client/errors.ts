/**
 * The server answered, and not with a value: `code` and `message` are the
 * envelope's (`code` is the HTTP status, or the envelope's code under
 * `compat: "v0"`), e.g. 404 "App wx… is not registered.".
 */
export class SchedulerError extends Error {
  override readonly name = 'SchedulerError';
  constructor(
    readonly code: number,
    message: string,
    /** What the server's Retry-After asked for, in ms (503 answers). */
    readonly retryAfterMs?: number,
    /** The server's X-Request-Id, to find the request in its log. */
    readonly requestId?: string,
  ) {
    super(message);
  }
}

/** The server could not be reached, or did not answer within the timeout. */
export class SchedulerUnreachableError extends Error {
  override readonly name = 'SchedulerUnreachableError';
  constructor(
    message: string,
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
