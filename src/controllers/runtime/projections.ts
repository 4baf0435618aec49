// What the shared informers keep of each object (controller-runtime's cache TransformFunc). One
// watch serves every reader in the process (src/kube/informer-factory.ts), so a projection here
// must keep every field any reader uses. The caches hold every pod, workload, Service and GPU node
// of the cluster, and most of an object is fields nobody reads (managedFields alone is often half
// of it), so the memory of a controller process on a large cluster is mostly these projections' to
// decide. Kinds not listed here are cached whole less managedFields (the factory's default).
//
// Readers, and what they read:
// - pods (slimPod): the Deployment controller's summarizePods/podProblem (deployment/status.ts),
//   freeGpusByRegion (fleet/placement.ts) and podGpus (fleet/gpus.ts), podOwnerKey and the label selector
//   of its pods; the SFTJob controller's trainer pods (labels, nodeName, phase) and free GPUs; metering's readiness (the Ready condition's lastTransitionTime), podGpus and
//   dimensions (uid, namespace, labels, nodeName) (metering/accrual.ts, metering.ts);
// - GPU nodes (slimNode): placement (isSchedulableFor, freeGpusByRegion) and metering (labels);
// - workloads and Services (slimChild): ours whole (spec, status, labels, annotations: an update
//   replaces the object and merges the observed labels and annotations, so those are never
//   dropped from ours); of anyone else's only whether it exists and who controls it.
// A field added to a reader must be added here too: deployment/cache.test.ts and
// metering/metering.test.ts check the readers give the same answers on projected objects.
import type {
  KubernetesObject,
  V1Container,
  V1ContainerStatus,
  V1Namespace,
  V1Node,
  V1NodeCondition,
  V1ObjectMeta,
  V1Pod,
  V1PodCondition,
  V1ResourceRequirements,
} from '@kubernetes/client-node';
import { GROUP, LABELS } from '../../crds/group.js';
import { ACCELERATOR_LABEL } from '../../fleet/catalog.js';
import { stripManagedFields, type Informer } from '../../kube/informer.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import type { ResourceRef } from '../../kube/kube-source.js';
import { controllerOf } from './owner-refs.js';

/** The value of app.kubernetes.io/managed-by on everything Hearth's controllers make. */
export const MANAGED_BY_HEARTH = 'hearth';

/** Copies the listed keys of `src` that are defined (no undefined-valued slots in the result). */
function pick<T extends object, K extends keyof T>(src: T | undefined, keys: readonly K[]): Pick<T, K> | undefined {
  if (src === undefined) return undefined;
  const out = {} as Pick<T, K>;
  for (const k of keys) if (src[k] !== undefined) out[k] = src[k];
  return out;
}

const META_KEYS = ['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'labels', 'deletionTimestamp', 'ownerReferences'] as const;

function meta(m: V1ObjectMeta | undefined, withAnnotations: boolean): V1ObjectMeta {
  const out: V1ObjectMeta = pick(m, META_KEYS) ?? {};
  if (withAnnotations && m?.annotations !== undefined) out.annotations = m.annotations;
  return out;
}

function resources(r: V1ResourceRequirements | undefined): V1ResourceRequirements | undefined {
  return pick(r, ['requests', 'limits']);
}

function container(c: V1Container): V1Container {
  return { name: c.name, ...(c.resources ? { resources: resources(c.resources) } : {}), ...(c.restartPolicy ? { restartPolicy: c.restartPolicy } : {}) };
}

function containerStatus(cs: V1ContainerStatus): V1ContainerStatus {
  const out: V1ContainerStatus = { name: cs.name, ready: cs.ready, restartCount: cs.restartCount, image: '', imageID: '' };
  const state = (s: V1ContainerStatus['state']): V1ContainerStatus['state'] =>
    s && {
      ...(s.waiting ? { waiting: pick(s.waiting, ['reason', 'message']) } : {}),
      ...(s.running ? { running: {} } : {}),
      ...(s.terminated ? { terminated: pick(s.terminated, ['exitCode', 'reason', 'message'])! } : {}),
    };
  if (cs.state) out.state = state(cs.state);
  if (cs.lastState) out.lastState = state(cs.lastState);
  return out;
}

function nodeCondition(c: V1NodeCondition): V1NodeCondition {
  return pick(c, ['type', 'status', 'reason', 'message']) as V1NodeCondition;
}

/** Metering accrues Ready time from the Ready condition's lastTransitionTime. */
function podCondition(c: V1PodCondition): V1PodCondition {
  return pick(c, ['type', 'status', 'reason', 'message', 'lastTransitionTime']) as V1PodCondition;
}

/** True for objects a Hearth controller made (the managed-by label). */
export function isHearths(o: KubernetesObject): boolean {
  return o.metadata?.labels?.[LABELS.managedBy] === MANAGED_BY_HEARTH;
}

/**
 * A pod as the controllers need it: identity, labels, deletion, node, container resources, phase,
 * conditions and container states. Annotations (the template hash) only on Hearth's pods; every
 * other pod is kept for free-GPU accounting (node, GPU requests, phase) and pod routing (labels).
 */
export function slimPod(pod: V1Pod): V1Pod {
  const spec = pod.spec;
  const status = pod.status;
  return {
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    metadata: meta(pod.metadata, isHearths(pod)),
    ...(spec
      ? {
          spec: {
            ...(spec.nodeName ? { nodeName: spec.nodeName } : {}),
            containers: (spec.containers ?? []).map(container),
            ...(spec.initContainers ? { initContainers: spec.initContainers.map(container) } : {}),
          },
        }
      : {}),
    ...(status
      ? {
          status: {
            ...(status.phase ? { phase: status.phase } : {}),
            ...(status.conditions ? { conditions: status.conditions.map(podCondition) } : {}),
            ...(status.containerStatuses ? { containerStatuses: status.containerStatuses.map(containerStatus) } : {}),
          },
        }
      : {}),
  };
}

/** A GPU node as placement and metering need it: name, labels, schedulability, taints, allocatable, conditions. */
export function slimNode(node: V1Node): V1Node {
  return {
    apiVersion: node.apiVersion,
    kind: node.kind,
    metadata: meta(node.metadata, false),
    ...(node.spec ? { spec: pick(node.spec, ['unschedulable', 'taints']) } : {}),
    ...(node.status
      ? {
          status: {
            ...(node.status.allocatable ? { allocatable: node.status.allocatable } : {}),
            ...(node.status.conditions ? { conditions: node.status.conditions.map(nodeCondition) } : {}),
          },
        }
      : {}),
  };
}

/**
 * A child kind (workload, Service, …): Hearth's whole (less managedFields) — labelled managed-by
 * hearth, or controlled by an object of the hearth.dev group, whichever kind of ours made it —
 * anyone else's reduced to what tells that the name is taken and by whom (identity, labels,
 * ownerReferences).
 */
export function slimChild<T extends KubernetesObject>(obj: T): T {
  const ctrl = controllerOf(obj);
  if (isHearths(obj) || ctrl?.apiVersion?.startsWith(`${GROUP}/`)) return stripManagedFields(obj);
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata: meta(obj.metadata, false) } as T;
}

// ---- collections more than one controller reads -------------------------------------------------
// Defined once, so every reader asks the shared factory for the same watch with the same
// projection (the factory refuses a second projection of one watch).

export const PODS: ResourceRef = { group: '', version: 'v1', plural: 'pods' };
/** Nodes with GPUs: the accelerator label Hearth's node pools and the simulated fleet carry. */
export const GPU_NODES: ResourceRef = { group: '', version: 'v1', plural: 'nodes', labelSelector: ACCELERATOR_LABEL };
export { NAMESPACES } from '../../kube/informer-factory.js';

/** Every pod of the cluster (free-GPU accounting needs everyone's), projected by slimPod. */
export function podsInformer(informers: InformerFactory): Informer<V1Pod> {
  return informers.informer<V1Pod>(PODS, { transform: slimPod });
}

export function gpuNodesInformer(informers: InformerFactory): Informer<V1Node> {
  return informers.informer<V1Node>(GPU_NODES, { transform: slimNode });
}

/**
 * Namespaces whole less managedFields, through the namespace seal: the account label only where
 * Hearth sealed it (`hearth.dev/account-unverified` where it did not: src/crds/account.ts).
 */
export function namespacesInformer(informers: InformerFactory): Informer<V1Namespace> {
  return informers.namespaces();
}
