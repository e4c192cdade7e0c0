import { createRequire } from 'node:module';

/**
 * The JSON parser koa-bodyparser uses (co-body's, strict mode), for the fast
 * registration path: same accepted bodies, same errors, hence the same
 * answers from errorAnswer. @hapi/bourne is loaded from co-body's own
 * dependencies, so both paths always run the same copy.
 */
interface Bourne {
  parse(text: string, options: { protoAction: 'error' | 'remove' | 'ignore' }): unknown;
}
const fromBodyParser = createRequire(createRequire(import.meta.url).resolve('koa-bodyparser'));
const bourne = createRequire(fromBodyParser.resolve('co-body'))('@hapi/bourne') as Bourne;

/** co-body's strict-mode check: only an object or an array. */
const STRICT_JSON = /^[ \t\n\r]*(\[|\{)/;

/**
 * A UTF-8 body parsed as co-body's json() does: raw-body decodes with
 * iconv-lite, which drops a leading BOM; an empty body is {}; anything but
 * an object or array is a SyntaxError; errors carry status 400 as co-body's do.
 */
export function parseJsonBody(raw: Buffer): unknown {
  let text = raw.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    if (!text) return {};
    if (!STRICT_JSON.test(text)) throw new SyntaxError('invalid JSON, only supports object and array');
    return bourne.parse(text, { protoAction: 'error' });
  } catch (err) {
    throw Object.assign(err as Error, { status: 400 });
  }
}
