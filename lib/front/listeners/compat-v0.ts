import type { IncomingMessage, OutgoingHttpHeaders, RequestListener, ServerResponse } from 'node:http';

const REGISTRATION = new Set(['/registe', '/register']);
const JSON_TYPE = /^application\/json\s*(?:;|$)/i;

/**
 * `compat: "v0"`, for clients written against the original Go server, which
 * answered every request with HTTP 200 and read a /registe body as JSON
 * whatever its Content-Type. Every JSON error answer keeps its envelope (and
 * its `code`) but goes out as HTTP 200; a registration body is read as JSON
 * whatever it is labelled, so one that is not JSON gets the usual 400
 * sentence instead of a 415. Redirects and non-JSON answers are unchanged.
 */
export function compatV0(next: RequestListener): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (req.method === 'POST' && REGISTRATION.has(path) && !JSON_TYPE.test(req.headers['content-type'] ?? '')) {
      req.headers['content-type'] = 'application/json';
    }
    // Every answer, written by whichever path, passes through writeHead (end() calls it implicitly).
    const writeHead = res.writeHead.bind(res) as (status: number, ...rest: unknown[]) => ServerResponse;
    res.writeHead = ((status: number, ...rest: unknown[]) => {
      const headers = rest.find((r): r is OutgoingHttpHeaders => typeof r === 'object' && r !== null);
      const type = String(
        headers?.['content-type'] ?? headers?.['Content-Type'] ?? res.getHeader('content-type') ?? '',
      );
      if (status < 400 || !JSON_TYPE.test(type)) return writeHead(status, ...rest);
      // Koa has set the reason phrase of the real status ("Not Found"); it would contradict the 200.
      res.statusMessage = 'OK';
      return writeHead(200, ...(typeof rest[0] === 'string' ? ['OK', ...rest.slice(1)] : rest));
    }) as ServerResponse['writeHead'];
    next(req, res);
  };
}
