// Pure: what one pass found → the DeployedModel's status (Fireworks state, per-replica entries,
// conditions) and the events a change is worth.
//
//   UNDEPLOYING  being deleted (the finalizer unloads from every replica, then releases the quota)
//   FAILED       a blocker retrying cannot fix (quota spent, addons off, too many adapters), or a
//                Ready replica refused the load MAX_LOAD_ATTEMPTS times
//   DEPLOYED     every Ready replica has it (at least one; with none, a DEPLOYED model stays so:
//                each replica that comes gets it before the gateway sends it adapter traffic)
//   UPDATING     was DEPLOYED, and a replica (scale-up, restart) or a spec change is being loaded
//   DEPLOYING    otherwise: first load in progress, or waiting (deployment, model not READY)
import type { DeployedModelState, DeployedModelStatus, ReplicaAdapter } from '../../crds/deployed-model.js';
import { ConditionType, findCondition, setCondition } from '../../crds/conditions.js';
import type { ObjectEvent } from '../runtime/writer.js';
import { rfc3339 } from '../../util/rfc3339.js';

/** Loads a replica may refuse before the DeployedModel is FAILED. */
export const MAX_LOAD_ATTEMPTS = 3;

/** Something that keeps the adapter off every replica; `failed`: retrying will not fix it. */
export interface Blocker {
  reason: string;
  message: string;
  /** google.rpc.Code name for `status.status`. */
  code: string;
  failed: boolean;
}

export interface PassOutcome {
  generation: number | undefined;
  blocker?: Blocker;
  /** One entry per Ready replica of the base deployment, in address order. */
  replicas: ReplicaAdapter[];
  adapterPath?: string;
}

export function stateOf(prev: DeployedModelState | undefined, o: PassOutcome): DeployedModelState {
  const wasDeployed = prev === 'DEPLOYED' || prev === 'UPDATING';
  if (o.blocker) return o.blocker.failed ? 'FAILED' : wasDeployed ? 'UPDATING' : 'DEPLOYING';
  if (o.replicas.some((r) => r.state === 'FAILED')) return 'FAILED';
  if (o.replicas.length === 0) return prev === 'DEPLOYED' ? 'DEPLOYED' : 'DEPLOYING';
  if (o.replicas.every((r) => r.state === 'LOADED')) return 'DEPLOYED';
  return wasDeployed ? 'UPDATING' : 'DEPLOYING';
}

function summary(state: DeployedModelState, o: PassOutcome): { code: string; message?: string; reason: string } {
  if (o.blocker) return { code: o.blocker.code, message: o.blocker.message, reason: o.blocker.reason };
  const failed = o.replicas.find((r) => r.state === 'FAILED');
  if (failed) return { code: 'FAILED_PRECONDITION', message: `replica ${failed.pod} refused the adapter: ${failed.message ?? 'no reason given'}`, reason: 'LoadRefused' };
  const loaded = o.replicas.filter((r) => r.state === 'LOADED').length;
  if (state === 'DEPLOYED') return { code: 'OK', reason: 'Loaded' };
  return { code: 'OK', message: `loaded on ${loaded} of ${o.replicas.length} Ready replicas`, reason: 'Loading' };
}

export function computeStatus(prev: DeployedModelStatus | undefined, o: PassOutcome, now: Date): DeployedModelStatus {
  const state = stateOf(prev?.state, o);
  const s = summary(state, o);
  const gen = o.generation;
  const ready = state === 'DEPLOYED';
  let conditions = setCondition(prev?.conditions, { type: ConditionType.Ready, status: ready ? 'True' : 'False', reason: s.reason, message: s.message ?? '', ...(gen !== undefined ? { observedGeneration: gen } : {}) }, now);
  const degraded = state === 'FAILED';
  conditions = setCondition(conditions, { type: ConditionType.Degraded, status: degraded ? 'True' : 'False', reason: degraded ? s.reason : 'AsExpected', message: degraded ? (s.message ?? '') : '', ...(gen !== undefined ? { observedGeneration: gen } : {}) }, now);
  return {
    state,
    status: { code: s.code as NonNullable<DeployedModelStatus['status']>['code'], ...(s.message ? { message: s.message } : {}) },
    updateTime: prev?.state === state && prev.updateTime ? prev.updateTime : rfc3339(now),
    replicas: o.replicas,
    ...(o.adapterPath ? { adapterPath: o.adapterPath } : {}),
    ...(gen !== undefined ? { observedGeneration: gen } : {}),
    conditions,
  };
}

/**
 * While the finalizer unloads the adapter (however the object was deleted): UNDEPLOYING, Ready
 * False; the replica entries stay as they were until the object is gone.
 */
export function undeployingStatus(prev: DeployedModelStatus | undefined, now: Date): DeployedModelStatus {
  const message = 'unloading the adapter from every Ready replica';
  const conditions = setCondition(prev?.conditions, { type: ConditionType.Ready, status: 'False', reason: 'Undeploying', message }, now);
  return {
    ...prev,
    state: 'UNDEPLOYING',
    status: { code: 'OK', message },
    updateTime: prev?.state === 'UNDEPLOYING' && prev.updateTime ? prev.updateTime : rfc3339(now),
    conditions,
  };
}

/** The events a state change is worth (kubectl describe). */
export function eventsFor(prev: DeployedModelStatus | undefined, next: DeployedModelStatus): ObjectEvent[] {
  if (prev?.state === next.state) return [];
  if (next.state === 'DEPLOYED') return [{ type: 'Normal', reason: 'Deployed', message: `adapter loaded on ${next.replicas?.length ?? 0} Ready replicas` }];
  if (next.state === 'FAILED') {
    const c = findCondition(next.conditions, ConditionType.Degraded);
    return [{ type: 'Warning', reason: c?.reason ?? 'Failed', message: next.status?.message ?? '' }];
  }
  return [];
}
