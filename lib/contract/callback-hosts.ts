/**
 * The optional allow-list of callback hosts (config file `callbackHosts`):
 * when set, notify and params URLs may only name these hosts. Checked at
 * registration (a clear 400) and again before every call (the list may
 * have shrunk on a reload since the URL was stored).
 *
 * A pattern is a host name or IP address, `*.` in front for any subdomain,
 * and optionally `:port`; IPv6 addresses go in brackets: `[fd00::5]:8080`.
 */
const NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;
const BRACKETED = /^\[[0-9a-f:.]+\]$/i;

function split(pattern: string): { host: string; port: string | null } | null {
  const m = /^(.*?)(?::(\d{1,5}))?$/.exec(pattern.trim());
  if (!m?.[1]) return null;
  const host = m[1].toLowerCase();
  if (!NAME.test(host) && !BRACKETED.test(host)) return null;
  if (m[2] !== undefined && Number(m[2]) > 65535) return null;
  return { host, port: m[2] ?? null };
}

export function isHostPattern(pattern: string): boolean {
  return split(pattern) !== null;
}

const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };

/** True when no list is configured, or the URL's host (and port, when the pattern names one) is on it. */
export function hostAllowed(url: URL, patterns: readonly string[] | undefined): boolean {
  if (!patterns) return true;
  const host = url.hostname.toLowerCase();
  const port = url.port || DEFAULT_PORT[url.protocol] || '';
  return patterns.some((p) => {
    const s = split(p);
    if (!s) return false;
    if (s.port !== null && s.port !== port) return false;
    if (s.host.startsWith('*.')) return host.endsWith(s.host.slice(1)) && host.length > s.host.length - 1;
    return host === s.host;
  });
}
