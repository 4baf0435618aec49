// Labels Hearth puts on the children of a Deployment and on their pods.
import { ANNOTATIONS, LABELS, MANAGED_BY as HEARTH } from '../../../crds/group.js';
import type { Owner } from '../../runtime/owner-refs.js';
import { deploymentLabelValue } from './names.js';

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
export const LABEL_MANAGED_BY = LABELS.managedBy;
export const MANAGED_BY = HEARTH;
/** The owning hearth.dev Deployment's name, on children and pods. */
export const LABEL_DEPLOYMENT = LABELS.deployment;
/** On pods: where they run, for metering and capacity accounting without reading the node. */
export const LABEL_POD_ACCELERATOR = LABELS.acceleratorType;
export const LABEL_POD_REGION = LABELS.podRegion;
/** Annotation: hash of the pod template Hearth built; a new hash means a rollout. */
export const ANNOTATION_TEMPLATE_HASH = ANNOTATIONS.templateHash;
/** Name of the application in the pods, whatever runtime serves it. */
export const APP_NAME = 'model-server';

/**
 * The selector of the workload and the Service. Only labels that never change for the life of the
 * owner: a Deployment's selector is immutable, so the runtime, accelerator or region stay out.
 */
export function selectorLabels(dep: Pick<Owner, 'metadata'>): Record<string, string> {
  return {
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_DEPLOYMENT]: deploymentLabelValue(dep),
  };
}

/** Labels on the children themselves (apps/v1 Deployment, Service) and on their pods. */
export function childLabels(dep: Pick<Owner, 'metadata'>): Record<string, string> {
  return {
    [LABEL_NAME]: APP_NAME,
    [LABEL_INSTANCE]: deploymentLabelValue(dep),
    [LABEL_COMPONENT]: 'inference',
    [LABEL_PART_OF]: 'hearth',
    ...selectorLabels(dep),
  };
}

/** The selector as a string, for `status.labelSelector` (the scale subresource, HPAs, kubectl). */
export function selectorString(dep: Pick<Owner, 'metadata'>): string {
  return Object.entries(selectorLabels(dep))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
