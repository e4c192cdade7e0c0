// CPU time and RSS of a process tree, read from /proc (Linux). Threads share
// their process's RSS and CPU counters, so a process tree covers the
// supervisor, the generation process and its shard threads.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ on Linux

function stat(pid: number): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces; the fields after it are space-separated.
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** `pid` and every process below it. */
export function tree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = stat(Number(name));
    if (!f) continue;
    const ppid = Number(f[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

/** User + system CPU seconds used so far by these processes (all their threads). */
export function cpuSeconds(pids: number[]): number {
  const { user, system } = cpuSplit(pids);
  return user + system;
}

/** User and system CPU seconds used so far by these processes, apart. */
export function cpuSplit(pids: number[]): { user: number; system: number } {
  let user = 0;
  let system = 0;
  for (const p of pids) {
    const f = stat(p);
    if (!f) continue;
    user += Number(f[11]); // utime
    system += Number(f[12]); // stime
  }
  return { user: user / TICKS_PER_S, system: system / TICKS_PER_S };
}

/** Resident set size in MB, summed over the processes. */
export function rssMb(pids: number[]): number {
  let kb = 0;
  for (const p of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      /* gone */
    }
  }
  return kb / 1024;
}

/** CPU seconds per thread (name from /proc/<pid>/task/<tid>/comm) of these processes. */
export function threadCpu(pids: number[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of pids) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tids) {
      try {
        const s = readFileSync(`/proc/${p}/task/${t}/stat`, 'utf8');
        const comm = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
        const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
        const key = `${p}:${t === String(p) ? 'main' : comm}:${t}`;
        out.set(key, (Number(f[11]) + Number(f[12])) / TICKS_PER_S);
      } catch {
        /* gone */
      }
    }
  }
  return out;
}
