/**
 * Every error the API answers with: an HTTP status (which is also the
 * envelope `code`) and a sentence a user can act on. `reason` is a stable
 * machine-readable word for logs and tests.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (reason: string, msg: string) => new ApiError(400, reason, msg);
export const notFound = (reason: string, msg: string) => new ApiError(404, reason, msg);

/** A write lock is taken and the writer would have to wait (it retries from the event loop instead). */
export class StoreBusy extends Error {
  readonly code = 'SQLITE_BUSY';
}

/** A shard thread did not answer a command in time. */
export class ShardTimeout extends Error {}

/** Raised for network failures, timeouts and oversize answers of outbound HTTP; the message never contains the URL. */
export class OutboundError extends Error {
  constructor(
    readonly kind: 'network' | 'timeout' | 'too_large',
    message: string,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

/** Error raised while starting up or parsing the command line. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * A write refused because the writer's fence for the app's slot is no
 * longer the current one: another instance took the slot over, and this
 * instance must not overwrite what the new owner fetched.
 */
export class FencedWrite extends Error {
  readonly code = 'fenced';
  constructor(message: string) {
    super(message);
    this.name = 'FencedWrite';
  }
}

/** The shared store cannot be reached (Redis down or unreachable): the write did not happen. */
export class StoreUnavailable extends Error {
  readonly code = 'store_unavailable';
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnavailable';
  }
}
