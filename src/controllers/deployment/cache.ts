// What the Deployment controller's informers keep of each object (controller-runtime's cache
// TransformFunc): only the fields a reader in this folder uses. The caches hold every pod,
// workload, Service and GPU node of the cluster, and most of an object is fields nobody here reads
// (managedFields alone is often half of it), so the memory of a controller on a large cluster is
// mostly this projection's to decide.
//
// Readers, and what they read:
// - pods: summarizePods/podProblem (status.ts), freeGpusByRegion/podGpuRequest (placement.ts),
//   podOwnerKey (controller.ts), the label selector of #pods (reconciler.ts);
// - nodes: freeGpusByRegion/isSchedulableFor (placement.ts);
// - workloads and Services: the reconciler reads ours whole (spec, status, labels, annotations:
//   an update replaces the object and merges the observed labels and annotations, so those are
//   never dropped from ours); of anyone else's it reads only whether it exists and who controls it;
// - hearth.dev Deployments and namespaces: whole, less managedFields.
// A field added to a reader must be added here too: cache.test.ts checks the readers give the same
// answers on projected objects as on whole ones.
import type {
  KubernetesObject,
  V1Container,
  V1ContainerStatus,
  V1Node,
  V1NodeCondition,
  V1ObjectMeta,
  V1Pod,
  V1PodCondition,
  V1ResourceRequirements,
} from '@kubernetes/client-node';
import { API_VERSION } from '../../crds/group.js';
import { stripManagedFields } from '../../kube/informer.js';
import { refersTo } from '../runtime/owner-refs.js';
import { LABEL_MANAGED_BY, MANAGED_BY } from './resources/labels.js';

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

function condition<C extends V1PodCondition | V1NodeCondition>(c: C): C {
  return pick(c, ['type', 'status', 'reason', 'message']) as C;
}

/** True for objects Hearth's Deployment controller made (its managed-by label). */
function isHearths(o: KubernetesObject): boolean {
  return o.metadata?.labels?.[LABEL_MANAGED_BY] === MANAGED_BY;
}

/**
 * A pod as the controller needs it: identity, labels, deletion, node, container resources, phase,
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
            ...(status.conditions ? { conditions: status.conditions.map(condition) } : {}),
            ...(status.containerStatuses ? { containerStatuses: status.containerStatuses.map(containerStatus) } : {}),
          },
        }
      : {}),
  };
}

/** A GPU node as placement needs it: name, labels, schedulability, taints, allocatable, conditions. */
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
            ...(node.status.conditions ? { conditions: node.status.conditions.map(condition) } : {}),
          },
        }
      : {}),
  };
}

const OWNER = { apiVersion: API_VERSION, kind: 'Deployment' };

/**
 * A workload or Service: ours whole (less managedFields); anyone else's reduced to what tells that
 * the name is taken and by whom (identity, labels, ownerReferences).
 */
export function slimChild<T extends KubernetesObject>(obj: T): T {
  const ctrl = obj.metadata?.ownerReferences?.find((r) => r.controller === true);
  if (isHearths(obj) || (ctrl !== undefined && refersTo(ctrl, OWNER))) return stripManagedFields(obj);
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata: meta(obj.metadata, false) } as T;
}
