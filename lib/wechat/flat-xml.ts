/**
 * The XML WeChat pushes is one `<xml>` element of flat child elements, each
 * text or CDATA. This reads exactly that and nothing more: no DTD, no
 * entities but the five predefined ones, no nesting, bounded input. Anything
 * else is refused, so a hostile body (an entity bomb, a deep tree) costs
 * one linear scan.
 */

export class FlatXmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlatXmlError';
  }
}

const MAX_XML = 64 * 1024;
const MAX_FIELDS = 64;
const ENVELOPE = /^\s*(?:<\?xml[^<>]{0,200}\?>\s*)?<xml>([\s\S]*)<\/xml>\s*$/;
const FIELD = /\s*<([A-Za-z][A-Za-z0-9_]{0,63})>(?:<!\[CDATA\[([\s\S]*?)\]\]>|([^<]*))<\/\1>\s*/y;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function unescapeText(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos);|&/g, (m, name: string | undefined) => {
    if (name === undefined)
      throw new FlatXmlError('The XML has an "&" that is not one of the five predefined entities.');
    return PREDEFINED[name] ?? m;
  });
}

/** The child elements of `<xml>…</xml>` by name (a repeated name: the first wins). */
export function parseFlatXml(xml: string): Map<string, string> {
  if (xml.length > MAX_XML) throw new FlatXmlError(`The XML is longer than ${MAX_XML} characters.`);
  if (/<!(?:DOCTYPE|ENTITY)/i.test(xml))
    throw new FlatXmlError('The XML has a DOCTYPE or ENTITY declaration, which is not accepted.');
  const env = ENVELOPE.exec(xml);
  if (!env) throw new FlatXmlError('The body is not one <xml> element.');
  const inner = env[1] ?? '';
  const out = new Map<string, string>();
  FIELD.lastIndex = 0;
  let count = 0;
  while (FIELD.lastIndex < inner.length) {
    const at = FIELD.lastIndex;
    const m = FIELD.exec(inner);
    if (!m) {
      if (/^\s*$/.test(inner.slice(at))) break;
      throw new FlatXmlError('The <xml> element holds something other than flat text elements.');
    }
    if (++count > MAX_FIELDS) throw new FlatXmlError(`The <xml> element has more than ${MAX_FIELDS} fields.`);
    const name = m[1] ?? '';
    const value = m[2] ?? unescapeText(m[3] ?? '');
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}
