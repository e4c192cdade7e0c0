// Holds the server's real answers to its OpenAPI description: every answer
// a test gets through a server's `api` client (helpers/server.ts) must be
// one the description lists for that route, with its required headers and
// a body its schema accepts. Routes the description does not name (test
// hooks, unknown paths) are not checked.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { openApiDocument } from '../../lib/front/openapi/document.js';

type Obj = Record<string, unknown>;
interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

export const DOC = openApiDocument() as { paths: Record<string, Record<string, Obj>>; components: Obj };
const BASE = 'openapi';
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/);
ajv.addSchema({ $id: BASE, components: DOC.components });

const METHODS = ['get', 'post', 'delete', 'put', 'patch'];
const routes = Object.keys(DOC.paths).map((template) => ({
  template,
  re: new RegExp(`^${template.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`),
}));

/** Operations (METHOD template) and the statuses the tests saw them answer with. */
export const seen = new Map<string, Set<number>>();

function resolve(x: unknown): Obj {
  let o = x as Obj;
  while (typeof o.$ref === 'string') {
    o = (o.$ref as string)
      .slice(2)
      .split('/')
      .reduce<Obj>((at, key) => at[key.replace(/~1/g, '/').replace(/~0/g, '~')] as Obj, DOC as unknown as Obj);
  }
  return o;
}

const compiled = new Map<string, ValidateFunction>();
function validator(key: string, schema: unknown): ValidateFunction {
  let v = compiled.get(key);
  if (!v) {
    v = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${BASE}#/components/`)) as Obj);
    compiled.set(key, v);
  }
  return v;
}

/** The route template a request path falls under, or undefined when the description does not name it. */
export function templateOf(path: string): string | undefined {
  const p = path.split('?')[0] ?? path;
  return routes.find((r) => r.re.test(p))?.template;
}

/** Throws when the answer is not one the description allows. */
export function checkAnswer(method: string, path: string, a: Answer): void {
  const template = templateOf(path);
  const m = method.toLowerCase();
  if (!template || !METHODS.includes(m)) return;
  const op = DOC.paths[template]?.[m];
  if (!op) return; // a method the route does not have: the router's 405
  // Under compat "v0" every JSON answer is HTTP 200 and the envelope's code is the status.
  const body = a.body as Obj | null;
  const status = a.status === 200 && typeof body?.code === 'number' ? body.code : a.status;
  const where = `${method} ${path.slice(0, 120)} → ${status}`;
  const responses = op.responses as Obj;
  if (!(String(status) in responses))
    throw new Error(
      `${where}: the OpenAPI description lists no ${status} answer for ${method} ${template} (body: ${a.text.slice(0, 200)})`,
    );
  const response = resolve(responses[String(status)]);
  const key = `${m} ${template} ${status}`;
  for (const [name, h] of Object.entries((response.headers ?? {}) as Obj)) {
    const header = resolve(h);
    const value = a.headers.get(name);
    if (value === null) {
      if (header.required === true)
        throw new Error(`${where}: header ${name} is required by the OpenAPI description but missing`);
      continue;
    }
    const v = validator(`${key} header ${name}`, header.schema);
    if (!v(value)) throw new Error(`${where}: header ${name}: ${JSON.stringify(value)} ${ajv.errorsText(v.errors)}`);
  }
  const content = response.content as Record<string, Obj> | undefined;
  if (content) {
    const type = (a.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const media = content[type];
    if (!media) throw new Error(`${where}: Content-Type ${type} is not among ${Object.keys(content).join(', ')}`);
    if (type === 'application/json') {
      const v = validator(`${key} ${type}`, media.schema);
      if (!v(a.body))
        throw new Error(
          `${where}: body ${a.text.slice(0, 300)} does not match the OpenAPI schema: ${ajv.errorsText(v.errors)}`,
        );
    }
  }
  const op2 = `${method.toUpperCase()} ${template}`;
  let statuses = seen.get(op2);
  if (!statuses) seen.set(op2, (statuses = new Set()));
  statuses.add(status);
}
