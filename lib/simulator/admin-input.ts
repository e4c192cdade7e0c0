// Readers for admin (/__sim) JSON bodies. They turn an unknown value into
// typed fields or throw BadInput with a sentence the caller can act on, so a
// typo in a test setup fails loudly instead of being silently ignored.

export class BadInput extends Error {}

export type JsonObject = Record<string, unknown>;

export function asObject(value: unknown, what: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadInput(`The ${what} body must be a JSON object.`);
  }
  return value as JsonObject;
}

/** Rejects keys the endpoint does not know (catches misspelt settings). */
export function onlyKeys(obj: JsonObject, allowed: readonly string[], what: string): void {
  const unknown = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw new BadInput(`Unknown field(s) ${unknown.join(', ')} in ${what}; allowed: ${allowed.join(', ')}.`);
  }
}

export function requiredString(obj: JsonObject, key: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v === '') throw new BadInput(`Field "${key}" must be a non-empty string.`);
  return v;
}

export function optionalString(obj: JsonObject, key: string): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new BadInput(`Field "${key}" must be a string.`);
  return v;
}

export function optionalBoolean(obj: JsonObject, key: string): boolean | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new BadInput(`Field "${key}" must be true or false.`);
  return v;
}

/** A whole number >= min; `null` is returned as null so callers can unset a setting. */
export function optionalInteger(obj: JsonObject, key: string, min: number): number | null | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return v;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new BadInput(`Field "${key}" must be an integer >= ${min}.`);
  }
  return v;
}

export function oneOf<T extends string>(
  obj: JsonObject,
  key: string,
  values: readonly T[],
  required: boolean,
): T | undefined {
  const v = obj[key];
  if (v === undefined && !required) return undefined;
  const found = values.find((x) => x === v);
  if (found === undefined) throw new BadInput(`Field "${key}" must be one of ${values.join(', ')}.`);
  return found;
}
