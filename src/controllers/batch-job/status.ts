// Where a BatchJob is, from what the cluster shows (pure): its Job's pods by rank → PENDING,
// RUNNING, COMPLETED or FAILED (naming the failing rank and its exit code); and the status that
// says so, with startTime/endTime kept once set. Events for state changes.
import type { V1Pod } from '@kubernetes/client-node';
import type { BatchJobState, BatchJobStatus } from '../../crds/batch-job.js';
import { rfc3339 } from '../../util/rfc3339.js';
import type { ObjectEvent } from '../runtime/writer.js';
import { COMPLETION_INDEX_ANNOTATION, CONTAINER_NAME } from './resources.js';

export const FINAL_STATES: readonly BatchJobState[] = ['COMPLETED', 'FAILED', 'CANCELLED'];
export const isFinal = (s: BatchJobState | undefined): boolean => s !== undefined && FINAL_STATES.includes(s);

/** The rank of a pod of an Indexed Job (its completion index), or undefined. */
export function rankOf(pod: V1Pod): number | undefined {
  const v = pod.metadata?.annotations?.[COMPLETION_INDEX_ANNOTATION] ?? pod.metadata?.labels?.[COMPLETION_INDEX_ANNOTATION];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

export interface RankEnd {
  rank: number;
  exitCode: number;
  reason?: string;
  message?: string;
}

/** How a finished pod ended (its rank container's terminated state), or undefined while it runs. */
export function podEnd(pod: V1Pod): Omit<RankEnd, 'rank'> | undefined {
  const phase = pod.status?.phase;
  if (phase !== 'Succeeded' && phase !== 'Failed') return undefined;
  const cs = pod.status?.containerStatuses?.find((c) => c.name === CONTAINER_NAME) ?? pod.status?.containerStatuses?.[0];
  const t = cs?.state?.terminated;
  const exitCode = t?.exitCode ?? (phase === 'Succeeded' ? 0 : 1);
  return { exitCode, ...(t?.reason ? { reason: t.reason } : {}), ...(t?.message ? { message: t.message } : {}) };
}

/** The pods of the job by rank: the newest (live) one of each rank. */
export function podsByRank(pods: readonly V1Pod[]): Map<number, V1Pod> {
  const out = new Map<number, V1Pod>();
  for (const p of pods) {
    const r = rankOf(p);
    if (r === undefined) continue;
    const cur = out.get(r);
    if (!cur || (cur.metadata?.deletionTimestamp && !p.metadata?.deletionTimestamp)) out.set(r, p);
  }
  return out;
}

export type Observed =
  | { state: 'PENDING'; message: string; unschedulable: boolean }
  | { state: 'RUNNING'; message: string }
  | { state: 'COMPLETED'; message: string }
  | { state: 'FAILED'; message: string; failed: RankEnd };

/**
 * The state the pods show. Any failed rank fails the job (the lowest failed rank is named); every
 * rank succeeded: COMPLETED; every rank started (running or done): RUNNING; else PENDING.
 */
export function observe(pods: readonly V1Pod[], numRanks: number): Observed {
  const byRank = podsByRank(pods);
  let failed: RankEnd | undefined;
  let succeeded = 0;
  let started = 0;
  for (const [rank, pod] of [...byRank.entries()].sort(([a], [b]) => a - b)) {
    if (rank >= numRanks) continue;
    const end = podEnd(pod);
    if (end && (pod.status?.phase === 'Failed' || end.exitCode !== 0)) {
      failed ??= { rank, ...end };
    } else if (end) {
      succeeded++;
      started++;
    } else if (pod.status?.phase === 'Running') {
      started++;
    }
  }
  if (failed) return { state: 'FAILED', message: failureMessage(failed), failed };
  if (succeeded === numRanks) return { state: 'COMPLETED', message: `all ${numRanks} ranks exited with code 0` };
  if (started === numRanks) return { state: 'RUNNING', message: `${numRanks} ranks running${succeeded > 0 ? ` (${succeeded} done)` : ''}` };
  const unschedulable = [...byRank.values()].some((p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False'));
  return {
    state: 'PENDING',
    message: `waiting for capacity: ${started} of ${numRanks} ranks started${unschedulable ? ' (no node of the pool has room for the rest yet)' : ''}`,
    unschedulable,
  };
}

export function failureMessage(f: RankEnd): string {
  const why = [f.reason, f.message].filter((s) => s && s.length > 0).join(': ');
  return `rank ${f.rank} failed with exit code ${f.exitCode}${why ? ` (${why})` : ''}`;
}

/** The next status: `state` and its detail; startTime set when it first runs, endTime when it ends. */
export interface NextStatus {
  state: BatchJobState;
  message?: string | undefined;
  /** The ranks ran (RUNNING, or ended by themselves): startTime is set if it is not yet. */
  ran?: boolean;
  now: Date;
  generation?: number | undefined;
}

export function nextStatus(prev: BatchJobStatus | undefined, n: NextStatus): BatchJobStatus {
  const { state, message, generation } = n;
  const same = prev?.state === state && prev?.status === message;
  const ts = rfc3339(n.now);
  const started = prev?.startTime ?? (n.ran ? ts : undefined);
  const ended = prev?.endTime ?? (isFinal(state) ? ts : undefined);
  const out: BatchJobStatus = {
    ...(prev ?? {}),
    state,
    ...(message !== undefined ? { status: message } : {}),
    ...(started ? { startTime: started } : {}),
    ...(ended ? { endTime: ended } : {}),
    updateTime: same ? (prev?.updateTime ?? ts) : ts,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  } as BatchJobStatus;
  if (message === undefined) delete (out as { status?: string }).status;
  out.conditions = conditionsFor(prev, state, message, same ? (prev?.updateTime ?? ts) : ts);
  return out;
}

/** The Ready condition kubectl shows: True when COMPLETED, False when FAILED/CANCELLED. */
function conditionsFor(prev: BatchJobStatus | undefined, state: BatchJobState, message: string | undefined, ts: string): BatchJobStatus['conditions'] {
  const status = state === 'COMPLETED' ? 'True' : isFinal(state) ? 'False' : 'Unknown';
  const reason = state.charAt(0) + state.slice(1).toLowerCase();
  const old = prev?.conditions?.find((c) => c.type === 'Ready');
  const lastTransitionTime = old && old.status === status ? old.lastTransitionTime : ts;
  return [{ type: 'Ready', status, reason, message: message ?? '', lastTransitionTime }];
}

/**
 * An event per state change that says something a user acts on: waiting for capacity, the end, a
 * cancel. Not CREATING or RUNNING (the status says it; a write less per job on a busy API server).
 */
export function eventsFor(prev: BatchJobStatus | undefined, next: BatchJobStatus): ObjectEvent[] {
  if (prev?.state === next.state || next.state === 'CREATING' || next.state === 'RUNNING') return [];
  const warn = next.state === 'FAILED';
  return [{ type: warn ? 'Warning' : 'Normal', reason: next.state.charAt(0) + next.state.slice(1).toLowerCase(), message: next.status ?? next.state }];
}
