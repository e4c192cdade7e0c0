import { ApiError } from '../contract/errors.js';
import { isIP } from 'node:net';
import { isLoopback } from './client-address.js';

/**
 * Protected mode serves loopback clients only, but a web page open in a
 * browser on the same host is a loopback client too. Two checks keep such a
 * page out:
 * - DNS rebinding: the page's own name resolves to 127.0.0.1, so the request
 *   comes from loopback but carries the attacker's name in Host. Only
 *   localhost or an address in Host is served (isLoopbackHost).
 * - Cross-site requests: a "simple" POST (text/plain, a form) needs no
 *   preflight and would run. Browsers name the page's origin in Origin on
 *   every such request; only the server's own origin (its console) is served.
 * With API tokens configured neither is needed: a page cannot add an
 * Authorization header cross-site without a preflight, which this server
 * never grants.
 */

/**
 * `localhost` and `*.localhost` (which browsers resolve to loopback
 * themselves), or an IP address, with or without a port. Rebinding needs a
 * name the attacker's DNS answers for; a page whose Host is an address was
 * loaded from that address, and a direct client naming a non-loopback
 * address is not a loopback client anyway: this serves a trusted proxy that
 * forwards a loopback client's request for the server's address.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(h);
  if (bracketed) return bracketed[1] !== undefined && isIP(bracketed[1]) === 6;
  const name = h.replace(/:\d{1,5}$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  return isIP(name) === 4 || isLoopback(name);
}

/** An Origin other than the server's own (compared with Host), `null` included. */
export function isCrossSite(origin: string, host: string | undefined): boolean {
  if (host === undefined) return true;
  try {
    return new URL(origin).host !== new URL(`http://${host}`).host;
  } catch {
    return true;
  }
}

/** Why a request may not be served in protected mode, or null when it may. */
/** `open`: a route anyone may read (/healthz, /openapi.json): orchestrators probe it under any name, and it tells nothing. */
export function protectedModeRefusal(
  open: boolean,
  host: string | undefined,
  origin: string | undefined,
): ApiError | null {
  if (origin !== undefined && isCrossSite(origin, host)) {
    return new ApiError(
      403,
      'cross_site',
      `Requests from web pages of other sites are refused (Origin ${origin.slice(0, 100)}); call this server from your back end, not from a browser.`,
    );
  }
  if (open) return null;
  if (host === undefined) {
    return new ApiError(
      403,
      'protected_host',
      'No API token is configured, so only requests addressed to localhost or an IP address (127.0.0.1, [::1]) are served, and this one names no Host; send one, or start the server with --token <secret>.',
    );
  }
  if (!isLoopbackHost(host)) {
    return new ApiError(
      403,
      'protected_host',
      `No API token is configured, so only requests addressed to localhost or an IP address (127.0.0.1, [::1]) are served, not to "${host.slice(0, 100)}"; start the server with --token <secret> (or WECHAT_SCHEDULER_TOKEN, or "tokens" in the --config file) to serve other names.`,
    );
  }
  return null;
}
