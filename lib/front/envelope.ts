/** The response envelope of docs/api.md §2: HTTP status equals `code`. */
export interface Envelope<T> {
  code: number;
  message: string;
  result: T;
}

export function envelope<T>(code: number, message: string, result: T): Envelope<T> {
  return { code, message, result };
}

/** A success envelope serialised once, for answers served many times. */
export function okBody(result: unknown): Buffer {
  return Buffer.from(JSON.stringify(envelope(200, '', result)));
}
