import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

function walk(dir: string, out: string[]): void {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(js|ts)$/.test(name)) out.push(p);
  }
}

/**
 * A short digest of the code this generation runs (the built lib/ and
 * workers/ beside this file), reported by /healthz so an operator can see
 * that a reload really took new code.
 */
export function buildStamp(): string {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const files: string[] = [];
  walk(join(root, 'lib'), files);
  walk(join(root, 'workers'), files);
  const h = createHash('sha256');
  for (const f of files) h.update(f.slice(root.length)).update(readFileSync(f));
  return h.digest('hex').slice(0, 16);
}
