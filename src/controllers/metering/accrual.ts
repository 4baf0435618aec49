// Pure accrual arithmetic of the metering runnable: a pod's Ready spans and the split of Ready
// time into aligned ledger intervals (a pod's GPU count is src/fleet/gpus.ts's). No I/O, no clock.
import type { V1Pod } from '@kubernetes/client-node';

/** A stretch of time (epoch ms) during which a pod was Ready; `end` undefined while it still is. */
export interface Span {
  start: number;
  end?: number;
}

/** Ready time of one replica within one aligned interval. */
export interface IntervalUsage {
  /** Aligned start: the ledger key (with account and replica). */
  start: number;
  /**
   * The end of the last Ready moment inside the interval: the interval's end when the replica was
   * Ready through it (a successor then knows it was Ready at the boundary), earlier otherwise.
   */
  end: number;
  /** Milliseconds Ready inside [start, end). */
  readyMs: number;
}

/** Milliseconds since the epoch of a Kubernetes timestamp (raw JSON string or a parsed Date). */
export function toMs(t: unknown): number | undefined {
  if (t instanceof Date) return Number.isNaN(t.getTime()) ? undefined : t.getTime();
  if (typeof t !== 'string' || t === '') return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

export interface Readiness {
  ready: boolean;
  /** When the Ready condition last changed (its lastTransitionTime), if the pod says. */
  since: number | undefined;
}

/** The pod's Ready condition. A pod that has finished (Succeeded/Failed) is never Ready. */
export function readiness(pod: V1Pod): Readiness {
  const c = pod.status?.conditions?.find((x) => x.type === 'Ready');
  const finished = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
  return { ready: c?.status === 'True' && !finished, since: toMs(c?.lastTransitionTime) };
}

/** The aligned start of the interval containing `t`. */
export function alignDown(t: number, intervalMs: number): number {
  return Math.floor(t / intervalMs) * intervalMs;
}

/**
 * Ready time inside [from, to) split into aligned intervals of `intervalMs`, in order; intervals
 * without Ready time are left out. Open spans count up to `to`.
 */
export function splitIntoIntervals(spans: readonly Span[], from: number, to: number, intervalMs: number): IntervalUsage[] {
  const byStart = new Map<number, IntervalUsage>();
  for (const s of spans) {
    const a = Math.max(s.start, from);
    const b = Math.min(s.end ?? to, to);
    for (let t = a; t < b; ) {
      const start = alignDown(t, intervalMs);
      const end = Math.min(start + intervalMs, b);
      const u = byStart.get(start) ?? { start, end, readyMs: 0 };
      u.readyMs += end - t;
      u.end = Math.max(u.end, end);
      byStart.set(start, u);
      t = end;
    }
  }
  return [...byStart.values()].sort((x, y) => x.start - y.start);
}
