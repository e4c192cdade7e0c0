/** `params` of a task: a URL asked before each fetch, or static values. */
export type ParamsSource =
  { kind: 'none' } | { kind: 'url'; url: string } | { kind: 'inline'; values: Record<string, string> };

/**
 * A type-3 task's settings for WeChat's pushes to the platform (its message
 * token and EncodingAESKey) and where each event is also posted.
 */
export interface PushSettings {
  token: string;
  encodingAesKey: string;
  notify: string | null;
}

/** What the params of each task type may provide (docs/api.md §6). */
export interface ParamValues {
  access_token?: string;
  refresh_token?: string;
  component_verify_ticket?: string;
  authorizer_refresh_token?: string;
  authorizer_appid?: string;
  component_access_token?: string;
}

export const PARAM_FIELDS: ReadonlyArray<keyof ParamValues> = [
  'access_token',
  'refresh_token',
  'component_verify_ticket',
  'authorizer_refresh_token',
  'authorizer_appid',
  'component_access_token',
];

/** Keep only the known string fields of a params answer or inline object. */
export function pickParamValues(obj: Record<string, unknown>): ParamValues {
  const out: ParamValues = {};
  for (const f of PARAM_FIELDS) {
    const v = obj[f];
    if (typeof v === 'string' && v !== '') out[f] = v;
  }
  return out;
}
