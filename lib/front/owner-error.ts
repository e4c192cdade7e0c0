import { ApiError } from '../contract/errors.js';
import { ShardErrorReason, ShardReply } from '../contract/messages.js';
import { DISK_FULL_MESSAGE, isDiskFull } from './middleware/errors.js';

/** The owner says why; the front says it in HTTP. */
const STATUS: Record<ShardErrorReason, number> = {
  unavailable: 503,
  unknown_app: 404,
  unknown_task: 404,
  disabled: 404,
  upstream_failed: 502,
  refused: 409,
  failed: 500,
};

/** The API error for an owner's refusal; `reason` names what failed unless the app or task is unknown. */
export function ownerError(reply: ShardReply & { kind: 'error' }, reason: string): ApiError {
  if (isDiskFull(reply)) return new ApiError(507, 'disk_full', DISK_FULL_MESSAGE);
  const unknown = reply.reason === 'unknown_task' || reply.reason === 'unknown_app';
  return new ApiError(STATUS[reply.reason], unknown ? reply.reason : reason, reply.message);
}
