// Small helpers shared by the benchmarks: percentiles, a bounded worker pool, timing.
import { readFileSync, readdirSync } from 'node:fs';
import pg from 'pg';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Runs `task(i)` for i in [0, n) with at most `concurrency` in flight; returns each call's latency (ms). */
export async function pool(n: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const t = performance.now();
      await task(i);
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return latencies.sort((a, b) => a - b);
}

export function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

/** `url` with its database replaced by `name` (a bench's scratch database on the same server). */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Runs one statement (create/drop database) on its own connection to `url`. */
export async function admin(url: string, query: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(query);
  } finally {
    await c.end();
  }
}

/**
 * CPU seconds (user + system) each process name has used so far, summed over its processes, from
 * /proc (Linux; empty elsewhere). This process is `self`; kernel threads are left out. Two readings
 * around a phase say which process spent the machine's CPU in it (the cluster shares the box).
 */
export function cpuByProcess(): Map<string, number> {
  const out = new Map<string, number>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime; kernel threads have flag PF_KTHREAD (0x200000).
    if ((Number(f[6]) & 0x200000) !== 0) continue;
    const name = Number(pid) === process.pid ? 'self' : comm;
    out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
  }
  return out;
}

/** What each process spent between two cpuByProcess readings, largest first, at least `min` s. */
export function cpuSpent(before: Map<string, number>, after: Map<string, number>, min = 0.05): Array<[string, number]> {
  return [...after].map(([k, v]): [string, number] => [k, v - (before.get(k) ?? 0)]).filter(([, v]) => v >= min).sort((a, b) => b[1] - a[1]);
}
