import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A file the console serves, read once. */
export interface Asset {
  type: string;
  body: Buffer;
}

/**
 * Where the page's compiled modules are: beside this file when it runs
 * from the build (dist/lib/console/web), or in the build when it runs from
 * the sources (lib/console/web holds only the TypeScript).
 */
export function webDir(): string | null {
  const candidates = [new URL('./web/', import.meta.url), new URL('../../dist/lib/console/web/', import.meta.url)];
  for (const c of candidates) {
    const dir = fileURLToPath(c);
    if (existsSync(`${dir}main.js`)) return dir;
  }
  return null;
}

/** The page's ES modules by file name (only `*.js`: no source maps, no sources). */
export function loadModules(dir: string | null): Map<string, Asset> {
  const modules = new Map<string, Asset>();
  if (!dir) return modules;
  for (const name of readdirSync(dir)) {
    if (/^[a-z][a-z0-9-]*\.js$/.test(name))
      modules.set(name, { type: 'text/javascript; charset=utf-8', body: readFileSync(`${dir}${name}`) });
  }
  return modules;
}
