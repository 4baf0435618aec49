// Kubernetes conditions (metav1.Condition) as every Hearth kind reports them, beside the Fireworks
// `state`: Ready (the summary), Progressing and Degraded, each with observedGeneration.
import { z } from 'zod';
import { rfc3339 } from '../util/rfc3339.js';

export const ConditionType = {
  Ready: 'Ready',
  Progressing: 'Progressing',
  Degraded: 'Degraded',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** CamelCase reasons shared by the controllers. */
export const ConditionReason = {
  Reconciling: 'Reconciling',
  Ready: 'Ready',
  WaitingForCapacity: 'WaitingForCapacity',
  InvalidSpec: 'InvalidSpec',
  NotOwned: 'NotOwned',
  QuotaExceeded: 'QuotaExceeded',
  BackoffLimitExceeded: 'BackoffLimitExceeded',
} as const;

export const ConditionStatus = z.enum(['True', 'False', 'Unknown']);

export const Condition = z
  .object({
    type: z
      .string()
      .min(1)
      .max(316)
      .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/)
      .describe('Type of condition in CamelCase: Ready, Progressing or Degraded.'),
    status: ConditionStatus.describe('Status of the condition: True, False or Unknown.'),
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .describe('The metadata.generation the condition was set for.'),
    lastTransitionTime: z.iso
      .datetime({ offset: true })
      .describe('Last time the condition changed from one status to another.'),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .describe('Programmatic identifier of the reason for the last transition, in CamelCase.'),
    message: z.string().max(32768).default('').describe('Human-readable details of the last transition.'),
  })
  .describe('One aspect of the current state of the object.');
export type Condition = z.output<typeof Condition>;

/** A list-map keyed by `type`, as metav1.Condition lists are declared. */
export const Conditions = z
  .array(Condition)
  .max(16)
  .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
  .optional()
  .describe('Kubernetes conditions: Ready (summary), Progressing and Degraded.');

/** The Kubernetes part of every status: conditions and the generation they describe. */
export const kubeStatusFields = {
  observedGeneration: z
    .int()
    .min(0)
    .optional()
    .describe('The metadata.generation the controller last reconciled.'),
  conditions: Conditions,
};

export interface ConditionInput {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message?: string;
  observedGeneration?: number;
}

/**
 * Returns `conditions` with `next` set: lastTransitionTime changes only when the status flips, so
 * an unchanged condition leaves the list deep-equal (and the status write can be skipped).
 */
export function setCondition(conditions: readonly Condition[] | undefined, next: ConditionInput, now: Date): Condition[] {
  const list = conditions ?? [];
  const prev = list.find((c) => c.type === next.type);
  const cond: Condition = {
    type: next.type,
    status: next.status,
    reason: next.reason,
    message: next.message ?? '',
    lastTransitionTime: prev && prev.status === next.status ? prev.lastTransitionTime : rfc3339(now),
    ...(next.observedGeneration !== undefined ? { observedGeneration: next.observedGeneration } : {}),
  };
  return prev ? list.map((c) => (c.type === next.type ? cond : c)) : [...list, cond];
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Ready=True for the current generation (Knative's IsReady). */
export function isReady(obj: { metadata?: { generation?: number }; status?: { observedGeneration?: number; conditions?: Condition[] } }): boolean {
  const ready = findCondition(obj.status?.conditions, ConditionType.Ready);
  const gen = obj.metadata?.generation;
  return ready?.status === 'True' && (gen === undefined || obj.status?.observedGeneration === gen);
}
