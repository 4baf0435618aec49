// The status of an Environment from the outcome of a pass (pure), and the events a change is worth.
//
//   no connection requested: pods left → DISCONNECTING; none → DISCONNECTED
//   requested, but refused (no such pool, pool being deleted, no binding, not shared) → DISCONNECTED
//     with the reason in `status` and the Ready condition (naming the pool)
//   requested: every rank Running and Ready → CONNECTED (zone, pods, the shell command);
//     else RECONNECTING if it was CONNECTED (or RECONNECTING), CONNECTING otherwise
//
// Ready is True when the environment is where its spec asks (CONNECTED with a connection,
// DISCONNECTED without). Snapshots is always False/NotSupported: Hearth takes no snapshot, so
// `snapshotImageRef` stays empty and a disconnect discards what the pods changed.
import type { Code } from '../../crds/common.js';
import { setCondition } from '../../crds/conditions.js';
import type { EnvironmentState, EnvironmentStatus } from '../../crds/environment.js';
import { rfc3339 } from '../../util/rfc3339.js';
import type { ObjectEvent } from '../runtime/writer.js';

/** Cap on the pod names listed in status.connection.pods (the CRD's maxItems). */
export const MAX_LISTED_PODS = 1024;

export const SNAPSHOTS_CONDITION = 'Snapshots';
export const SNAPSHOTS_NOT_SUPPORTED =
  'snapshots are not supported: snapshotImageRef stays empty, jobs run the pinned imageRef, and disconnecting discards what the pods changed';

export interface Connected {
  poolId: string;
  numRanks: number;
  pods: string[];
  zone?: string;
  shellCommand: string;
}

export type Outcome =
  | { kind: 'disconnected' }
  | { kind: 'disconnecting'; remaining: number }
  | { kind: 'refused'; code: Code; reason: string; message: string }
  | { kind: 'waiting'; poolId: string; numRanks: number; ready: number }
  | ({ kind: 'connected' } & Connected);

/** The Fireworks state an outcome reads as, given where the environment was. */
export function stateOf(prev: EnvironmentState | undefined, o: Outcome): EnvironmentState {
  switch (o.kind) {
    case 'disconnected':
    case 'refused':
      return 'DISCONNECTED';
    case 'disconnecting':
      return 'DISCONNECTING';
    case 'connected':
      return 'CONNECTED';
    case 'waiting':
      return prev === 'CONNECTED' || prev === 'RECONNECTING' ? 'RECONNECTING' : 'CONNECTING';
  }
}

function readyCondition(state: EnvironmentState, o: Outcome): { status: 'True' | 'False'; reason: string; message: string } {
  switch (o.kind) {
    case 'disconnected':
      return { status: 'True', reason: 'Disconnected', message: 'not connected to a node pool' };
    case 'refused':
      return { status: 'False', reason: o.reason, message: o.message };
    case 'disconnecting':
      return { status: 'False', reason: 'Disconnecting', message: `waiting for ${o.remaining} pod(s) to go` };
    case 'connected':
      return { status: 'True', reason: 'Connected', message: `${o.numRanks} rank(s) on node pool ${o.poolId}` };
    case 'waiting':
      return {
        status: 'False',
        reason: state === 'RECONNECTING' ? 'Reconnecting' : 'Connecting',
        message: `${o.ready} of ${o.numRanks} rank(s) running and ready on node pool ${o.poolId}`,
      };
  }
}

function connectionOf(prev: EnvironmentStatus['connection'], o: Outcome): EnvironmentStatus['connection'] {
  const zone = o.kind === 'connected' && o.zone ? o.zone : prev?.zone;
  if (o.kind === 'connected') {
    return { nodePoolId: o.poolId, numRanks: o.numRanks, ...(zone ? { zone } : {}), pods: o.pods.slice(0, MAX_LISTED_PODS), shellCommand: o.shellCommand };
  }
  // While reconnecting the last connection stays visible (the pods come back under the same names).
  if (o.kind === 'waiting' && prev?.nodePoolId === o.poolId) return prev;
  return zone ? { zone } : undefined;
}

/** What the next status is computed with besides the outcome. */
export interface StatusInputs {
  /** The image pinned at creation (status.imageRef keeps the first one ever written). */
  image: string;
  generation: number | undefined;
  now: Date;
}

function conditionsOf(prev: EnvironmentStatus | undefined, state: EnvironmentState, o: Outcome, at: StatusInputs): EnvironmentStatus['conditions'] {
  const observed = at.generation !== undefined ? { observedGeneration: at.generation } : {};
  const ready = setCondition(prev?.conditions, { type: 'Ready', ...readyCondition(state, o), ...observed }, at.now);
  return setCondition(ready, { type: SNAPSHOTS_CONDITION, status: 'False', reason: 'NotSupported', message: SNAPSHOTS_NOT_SUPPORTED }, at.now);
}

/**
 * The Fireworks status: the refusal, or OK — with the shell command once connected, so a REST
 * client (which sees `status` but not the Kubernetes-only connection fields) learns it too.
 */
function statusOf(o: Outcome): NonNullable<EnvironmentStatus['status']> {
  if (o.kind === 'refused') return { code: o.code, message: o.message };
  if (o.kind === 'connected') return { code: 'OK', message: `connected; open a shell in rank 0 with: ${o.shellCommand}` };
  return { code: 'OK' };
}

function updateTimeOf(prev: EnvironmentStatus | undefined, state: EnvironmentState, now: Date): string {
  return prev?.state === state && prev.updateTime ? prev.updateTime : rfc3339(now);
}

/** The next status: `prev` with the outcome applied; updateTime moves only when the state changes. */
export function computeStatus(prev: EnvironmentStatus | undefined, o: Outcome, at: StatusInputs): EnvironmentStatus {
  const state = stateOf(prev?.state, o);
  const connection = connectionOf(prev?.connection, o);
  // Never a snapshot reference: Hearth takes none.
  const { connection: _c, snapshotImageRef: _s, ...rest } = prev ?? {};
  return {
    ...rest,
    state,
    status: statusOf(o),
    ...(connection ? { connection } : {}),
    imageRef: prev?.imageRef ?? at.image,
    updateTime: updateTimeOf(prev, state, at.now),
    ...(at.generation !== undefined ? { observedGeneration: at.generation } : {}),
    conditions: conditionsOf(prev, state, o, at),
  };
}

const EVENTS: Partial<Record<EnvironmentState, { type: ObjectEvent['type']; reason: string }>> = {
  CONNECTING: { type: 'Normal', reason: 'Connecting' },
  CONNECTED: { type: 'Normal', reason: 'Connected' },
  RECONNECTING: { type: 'Warning', reason: 'Reconnecting' },
  DISCONNECTING: { type: 'Normal', reason: 'Disconnecting' },
  DISCONNECTED: { type: 'Normal', reason: 'Disconnected' },
};

const isNew = (s: EnvironmentStatus | undefined): boolean => s?.state === undefined || s.state === 'STATE_UNSPECIFIED';

/** The event of a state change, if it is worth one (not the first DISCONNECTED of a new environment). */
function changeEvent(prev: EnvironmentStatus | undefined, next: EnvironmentStatus): { type: ObjectEvent['type']; reason: string } | undefined {
  if (prev?.state === next.state) return undefined;
  if (isNew(prev) && next.state === 'DISCONNECTED') return undefined;
  return EVENTS[next.state];
}

function eventMessage(next: EnvironmentStatus): string {
  if (next.state === 'CONNECTED') return next.connection?.shellCommand ?? '';
  return next.conditions?.find((c) => c.type === 'Ready')?.message ?? '';
}

/** One event per state change worth telling, and one per new refusal. */
export function eventsFor(prev: EnvironmentStatus | undefined, next: EnvironmentStatus, o: Outcome): ObjectEvent[] {
  if (o.kind === 'refused') return prev?.status?.message === o.message ? [] : [{ type: 'Warning', reason: o.reason, message: o.message }];
  const e = changeEvent(prev, next);
  return e ? [{ type: e.type, reason: e.reason, message: eventMessage(next) }] : [];
}
