// Pure: what one pass found → the NodePool's status (Fireworks state, nodePoolStats, conditions)
// and the events a change is worth.
//
//   DELETING  being deleted: waits while environments are connected or batch jobs run on the pool
//             (status.status FAILED_PRECONDITION names them), then removes the nodes it created
//   FAILED    the pool cannot be provisioned (unknown machine type, …): status names the field
//   READY     minNodeCount nodes are Ready (at once for minNodeCount 0); stays READY while the
//             pool scales (the Ready condition follows the nodes)
//   CREATING  otherwise; an eksNodePool with no provisioner in the cluster stays CREATING with
//             status FAILED_PRECONDITION saying what it needs (Karpenter or eksNodePool.nodeSelector)
import { ConditionType, findCondition, setCondition } from '../../crds/conditions.js';
import type { NodePoolState, NodePoolStatus } from '../../crds/node-pool.js';
import { rfc3339 } from '../../util/rfc3339.js';
import type { ObjectEvent } from '../runtime/writer.js';
import type { Provisioning } from './shape.js';
import type { PoolUsage } from './usage.js';

export interface PassOutcome {
  generation: number | undefined;
  deleting: boolean;
  /** The spec cannot be provisioned: the field and why. */
  invalid?: { field: string; message: string };
  provisioning?: Provisioning;
  nodes: { total: number; ready: number };
  min: number;
  ranksPerNode?: number;
  usage: PoolUsage;
  /** Pending pods no node of the machine type can hold. */
  tooBig?: string[];
  /** Something outside the spec keeps the pool from its nodes (e.g. the controller may not patch nodes). */
  blocked?: { code: 'PERMISSION_DENIED' | 'FAILED_PRECONDITION'; message: string; reason: string };
}

type Code = NonNullable<NodePoolStatus['status']>['code'];

export function stateOf(prev: NodePoolState | undefined, o: PassOutcome): NodePoolState {
  if (o.deleting) return 'DELETING';
  if (o.invalid) return 'FAILED';
  if (o.provisioning === 'needsProvisioner') return 'CREATING';
  if (o.blocked) return prev === 'READY' ? 'READY' : 'CREATING';
  if (prev === 'READY' || o.nodes.ready >= o.min) return 'READY';
  return 'CREATING';
}

function summary(state: NodePoolState, o: PassOutcome): { code: Code; message?: string; reason: string } {
  if (o.deleting) {
    if (o.usage.users.length > 0) return { code: 'FAILED_PRECONDITION', message: `node pool is in use by ${o.usage.users.slice(0, 5).join(', ')}${o.usage.users.length > 5 ? ` and ${o.usage.users.length - 5} more` : ''}; waiting for them to finish`, reason: 'InUse' };
    return { code: 'OK', message: `removing ${o.nodes.total} node(s)`, reason: 'Deleting' };
  }
  if (o.invalid) return { code: 'INVALID_ARGUMENT', message: `${o.invalid.field}: ${o.invalid.message}`, reason: 'InvalidSpec' };
  if (o.provisioning === 'needsProvisioner') {
    return {
      code: 'FAILED_PRECONDITION',
      message: 'eksNodePool needs a provisioner: install Karpenter (karpenter.sh/v1 NodePool) in the cluster, or set eksNodePool.nodeSelector to use existing nodes',
      reason: 'NeedsProvisioner',
    };
  }
  if (o.blocked) return o.blocked;
  if (o.tooBig && o.tooBig.length > 0) return { code: 'OK', message: `pod(s) ${o.tooBig.slice(0, 5).join(', ')} request more than one node of the pool has`, reason: 'PodTooLarge' };
  if (o.nodes.ready >= o.min) return { code: 'OK', reason: 'Ready' };
  return { code: 'OK', message: `${o.nodes.ready} of ${o.min} minimum nodes Ready`, reason: state === 'READY' ? 'BelowMinimum' : 'Provisioning' };
}

export function computeStatus(prev: NodePoolStatus | undefined, o: PassOutcome, now: Date): NodePoolStatus {
  const state = stateOf(prev?.state, o);
  const s = summary(state, o);
  const gen = o.generation;
  const g = gen !== undefined ? { observedGeneration: gen } : {};
  const ready = !o.deleting && !o.invalid && !o.blocked && o.provisioning !== 'needsProvisioner' && o.nodes.ready >= o.min;
  let conditions = setCondition(prev?.conditions, { type: ConditionType.Ready, status: ready ? 'True' : 'False', reason: s.reason, message: s.message ?? '', ...g }, now);
  const degraded = state === 'FAILED';
  conditions = setCondition(conditions, { type: ConditionType.Degraded, status: degraded ? 'True' : 'False', reason: degraded ? s.reason : 'AsExpected', message: degraded ? (s.message ?? '') : '', ...g }, now);
  const u = o.usage;
  return {
    state,
    status: { code: s.code, ...(s.message ? { message: s.message } : {}) },
    nodePoolStats: {
      nodeCount: o.nodes.total,
      ...(o.ranksPerNode !== undefined ? { ranksPerNode: o.ranksPerNode } : {}),
      environmentCount: u.environmentCount,
      environmentRanks: u.environmentRanks,
      ...(Object.keys(u.batchJobCount).length ? { batchJobCount: u.batchJobCount, batchJobRanks: u.batchJobRanks } : {}),
    },
    updateTime: prev?.state === state && prev.updateTime ? prev.updateTime : rfc3339(now),
    ...g,
    conditions,
  };
}

/** The events a state change is worth (kubectl describe). */
export function eventsFor(prev: NodePoolStatus | undefined, next: NodePoolStatus): ObjectEvent[] {
  if (prev?.state === next.state) return [];
  if (next.state === 'READY') return [{ type: 'Normal', reason: 'Ready', message: `${next.nodePoolStats?.nodeCount ?? 0} node(s)` }];
  if (next.state === 'FAILED') return [{ type: 'Warning', reason: findCondition(next.conditions, ConditionType.Degraded)?.reason ?? 'Failed', message: next.status?.message ?? '' }];
  return [];
}
