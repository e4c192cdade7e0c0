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

/** Error raised while starting up or parsing the command line. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
