// All simulated WeChat endpoints, in the order of the task types they serve.
import type { Endpoint } from '../endpoint.js';
import { authorizerEndpoint } from './authorizer.js';
import { clearQuotaEndpoint, componentClearQuotaEndpoint } from './clear-quota.js';
import { authorizerListEndpoint, queryAuthEndpoint, startPushTicketEndpoint } from './open-platform.js';
import { componentEndpoint } from './component.js';
import { oauthEndpoint } from './oauth.js';
import { stableEndpoint } from './stable.js';
import { ticketEndpoint } from './ticket.js';
import { tokenEndpoint } from './token.js';

export const ENDPOINTS: readonly Endpoint[] = [
  tokenEndpoint,
  ticketEndpoint,
  oauthEndpoint,
  componentEndpoint,
  authorizerEndpoint,
  stableEndpoint,
  queryAuthEndpoint,
  authorizerListEndpoint,
  startPushTicketEndpoint,
  clearQuotaEndpoint,
  componentClearQuotaEndpoint,
];
