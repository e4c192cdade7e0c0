import { existsSync, readFileSync } from 'node:fs';

/** The version in package.json, found from this file whether run from lib/ (tsx) or dist/lib/. */
export function packageVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    const url = new URL(rel, import.meta.url);
    if (!existsSync(url)) continue;
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'wechat-scheduler' && pkg.version) return pkg.version;
  }
  return '0.0.0';
}
