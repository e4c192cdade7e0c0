// A built checkout of another revision, for before/after runs: `--before`
// takes either a directory (already built) or a git revision, which is
// exported once to $TMPDIR/ws-rev-<sha> and built there (kept for later runs).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './procs.js';

export interface Checkout {
  /** What the user asked for (directory or revision), for printing. */
  name: string;
  dir: string;
  bin: string;
}

const binOf = (dir: string) => join(dir, 'bin', 'wechat-scheduler');

export function checkout(revOrDir: string): Checkout {
  if (existsSync(revOrDir)) return { name: revOrDir, dir: revOrDir, bin: binOf(revOrDir) };
  const sha = execFileSync('git', ['rev-parse', '--verify', `${revOrDir}^{commit}`], {
    cwd: ROOT,
    encoding: 'utf8',
  }).trim();
  const dir = join(tmpdir(), `ws-rev-${sha.slice(0, 12)}`);
  const built = join(dir, 'dist', 'lib', 'cli.js');
  if (!existsSync(built)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    console.log(`building ${revOrDir} (${sha.slice(0, 12)}) in ${dir}`);
    execFileSync('sh', ['-c', `git archive ${sha} | tar -x -C "${dir}"`], { cwd: ROOT, stdio: 'inherit' });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
      cwd: dir,
      stdio: 'inherit',
    });
  }
  return { name: `${revOrDir} (${sha.slice(0, 8)})`, dir, bin: binOf(dir) };
}
