// The API token: typed in, or given once as /console#token=<t>; kept in
// this tab's sessionStorage only, never in a cookie or the address bar.

const KEY = 'wechat-scheduler.console.token';

/** Takes a #token=… out of the address (history.replaceState) and keeps it. */
export function adoptTokenFromHash(): void {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!m) return;
  const token = decodeURIComponent(m[1] ?? '').trim();
  history.replaceState(history.state, '', location.pathname + location.search);
  if (token) sessionStorage.setItem(KEY, token);
}

export function getToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}
