// Fault injection rules: each matching WeChat request consumes one use of the
// first matching rule, which can delay it, fail it with an errcode or an
// HTTP status, or leave it hanging until the simulator closes.
import {
  BadInput,
  asObject,
  oneOf,
  onlyKeys,
  optionalBoolean,
  optionalInteger,
  optionalString,
} from './admin-input.js';
import { ENDPOINT_NAMES, type EndpointName } from './endpoint.js';

export interface FaultRule {
  endpoint?: EndpointName;
  appid?: string;
  errcode?: number;
  errmsg?: string;
  status?: number;
  delayMs?: number;
  hang?: boolean;
  /** Uses left; Infinity when pushed with times 0 ("until cleared"). */
  remaining: number;
}

const KEYS = ['endpoint', 'appid', 'errcode', 'errmsg', 'status', 'delayMs', 'hang', 'times'] as const;

export function parseFaultRule(input: unknown): FaultRule {
  const body = asObject(input, '/__sim/faults');
  onlyKeys(body, KEYS, '/__sim/faults');
  const errcode = body.errcode;
  if (errcode !== undefined && (typeof errcode !== 'number' || !Number.isInteger(errcode))) {
    throw new BadInput('Field "errcode" must be an integer (e.g. -1).');
  }
  const status = optionalInteger(body, 'status', 100) ?? undefined;
  if (status !== undefined && status > 599) throw new BadInput('Field "status" must be an HTTP status 100-599.');
  const rule: FaultRule = {
    endpoint: oneOf(body, 'endpoint', ENDPOINT_NAMES, false),
    appid: optionalString(body, 'appid'),
    errcode,
    errmsg: optionalString(body, 'errmsg'),
    status,
    delayMs: optionalInteger(body, 'delayMs', 0) ?? undefined,
    hang: optionalBoolean(body, 'hang'),
    remaining: optionalInteger(body, 'times', 0) ?? 1,
  };
  if (rule.remaining === 0) rule.remaining = Infinity;
  if (rule.errcode === undefined && rule.status === undefined && rule.delayMs === undefined && !rule.hang) {
    throw new BadInput('A fault needs at least one of errcode, status, delayMs or hang.');
  }
  return rule;
}

export class FaultQueue {
  private rules: FaultRule[] = [];

  /** Rules still pending. */
  get size(): number {
    return this.rules.length;
  }

  push(rule: FaultRule): void {
    this.rules.push(rule);
  }

  /** Consumes and returns the first rule matching this request, if any. */
  take(endpoint: EndpointName, appids: readonly string[]): FaultRule | undefined {
    const rule = this.rules.find(
      (r) =>
        (r.endpoint === undefined || r.endpoint === endpoint) && (r.appid === undefined || appids.includes(r.appid)),
    );
    if (!rule) return undefined;
    rule.remaining--;
    if (rule.remaining <= 0) this.rules = this.rules.filter((r) => r !== rule);
    return rule;
  }

  /** Rules still pending, for GET /__sim/faults (Infinity shown as times 0). */
  list(): Array<Omit<FaultRule, 'remaining'> & { times: number }> {
    return this.rules.map(({ remaining, ...rest }) => ({ ...rest, times: remaining === Infinity ? 0 : remaining }));
  }

  clear(): void {
    this.rules = [];
  }
}
