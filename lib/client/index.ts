// wechat-scheduler/client: a Node client of the server's HTTP API (see docs/clients.md).
export { SchedulerClient } from './scheduler-client.js';
export type { SchedulerClientOptions, TaskSelector, TokenDetail } from './scheduler-client.js';
export { SchedulerError, SchedulerUnreachableError } from './errors.js';
export { signJsapi } from './jsapi-signature.js';
export type { JsapiSignature } from './jsapi-signature.js';
export { isRejectedToken, REJECTED_TOKEN_ERRCODES } from './wechat-errcode.js';
