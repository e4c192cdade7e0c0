import { BlockList, isIP } from 'node:net';

/**
 * Who the client is, for protected mode (docs/api.md §7). The socket's peer
 * address is the truth unless that peer is a proxy the config file names in
 * `trustedProxy`; only then is X-Forwarded-For read, from the right, past
 * every trusted hop. A client can put anything in that header, so without
 * the option it is ignored entirely.
 */

/** `::ffff:10.0.0.1` → `10.0.0.1`, so one rule covers both spellings. */
export function normaliseAddress(address: string): string {
  const a = address.trim();
  return a.toLowerCase().startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = normaliseAddress(address);
  const family = isIP(a);
  return family !== 0 && LOOPBACK.check(a, family === 4 ? 'ipv4' : 'ipv6');
}

function parseRange(s: string): { address: string; prefix?: number; family: 'ipv4' | 'ipv6' } | null {
  const [addr = '', bits, extra] = s.trim().split('/');
  if (extra !== undefined) return null;
  const address = normaliseAddress(addr);
  const family = isIP(address);
  if (family === 0) return null;
  if (bits === undefined) return { address, family: family === 4 ? 'ipv4' : 'ipv6' };
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return null;
  return { address, prefix: Number(bits), family: family === 4 ? 'ipv4' : 'ipv6' };
}

/** `10.0.0.1`, `::1`, `10.0.0.0/8`, `fd00::/8`. */
export function isAddressOrRange(s: string): boolean {
  return parseRange(s) !== null;
}

export class ProxyTrust {
  private readonly list = new BlockList();
  private readonly any: boolean;

  constructor(trusted: readonly string[]) {
    for (const s of trusted) {
      const r = parseRange(s);
      if (!r) continue; // validated in config.ts already
      if (r.prefix === undefined) this.list.addAddress(r.address, r.family);
      else this.list.addSubnet(r.address, r.prefix, r.family);
    }
    this.any = trusted.length > 0;
  }

  private trusts(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }

  /** The address protected mode judges: the peer, or the first untrusted hop of X-Forwarded-For. */
  clientAddress(peer: string | undefined, forwardedFor: string | undefined): string | undefined {
    if (peer === undefined) return undefined;
    const p = normaliseAddress(peer);
    if (!this.any || !forwardedFor || !this.trusts(p)) return p;
    const hops = forwardedFor.split(',').map(normaliseAddress);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i];
      if (hop !== undefined && (!this.trusts(hop) || i === 0)) return hop;
    }
    return p;
  }
}
