// The informers the NodePool controller reads. Shared with other readers: NodePools, Environments
// and BatchJobs (the REST stores), Namespaces (the account label), apps/v1 Deployments (the
// Deployment controller's slimChild watch: the placeholder Deployment is ours, kept whole). Its
// own: the pool nodes (label hearth.dev/node-pool), the pods placed on pools (the same label; a
// projection that keeps their nodeSelector and scheduling condition, which the shared pod watch
// drops) and the overprovisioning PriorityClass.
import type { KubernetesObject, V1Deployment, V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import { BATCH_JOB, ENVIRONMENT, NODE_POOL } from '../../crds/registry.js';
import { NODE_POOL_LABELS } from '../../fleet/node-pools.js';
import { stripManagedFields, type Informer } from '../../kube/informer.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import type { HearthObject } from '../runtime/writer.js';
import { namespacesInformer, slimChild, slimNode } from '../runtime/projections.js';
import { OVERPROVISIONING_PRIORITY_CLASS } from './builders.js';

export interface NodePoolInformers {
  nodePools: Informer<HearthObject<'NodePool'>>;
  environments: Informer<HearthObject<'Environment'>>;
  batchJobs: Informer<HearthObject<'BatchJob'>>;
  namespaces: Informer<V1Namespace>;
  nodes: Informer<V1Node>;
  pods: Informer<V1Pod>;
  workloads: Informer<V1Deployment>;
  priorityClasses: Informer<KubernetesObject>;
}

/** A pool pod as the scaler needs it: where it is, what it selects and asks for, whether the scheduler gave up on it. */
export function poolPod(pod: V1Pod): V1Pod {
  const m = pod.metadata ?? {};
  const s = pod.spec;
  return {
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      ...(m.labels ? { labels: m.labels } : {}),
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
      ...(m.ownerReferences ? { ownerReferences: m.ownerReferences } : {}),
    },
    spec: {
      ...(s?.nodeName ? { nodeName: s.nodeName } : {}),
      ...(s?.nodeSelector ? { nodeSelector: s.nodeSelector } : {}),
      containers: (s?.containers ?? []).map((c) => ({ name: c.name, ...(c.resources ? { resources: { requests: c.resources.requests, limits: c.resources.limits } } : {}) })),
    },
    status: {
      ...(pod.status?.phase ? { phase: pod.status.phase } : {}),
      ...(pod.status?.nominatedNodeName ? { nominatedNodeName: pod.status.nominatedNodeName } : {}),
      ...(pod.status?.conditions ? { conditions: pod.status.conditions.filter((c) => c.type === 'PodScheduled').map((c) => ({ type: c.type, status: c.status, reason: c.reason })) } : {}),
    },
  };
}

const ref = (k: { group: string; version: string; plural: string }) => ({ group: k.group, version: k.version, plural: k.plural });

/** `namespace`: only that namespace's NodePools (tests sharing a cluster); default all. */
export function nodePoolInformers(f: InformerFactory, namespace?: string): NodePoolInformers {
  return {
    nodePools: f.informer<HearthObject<'NodePool'>>({ ...ref(NODE_POOL), ...(namespace ? { namespace } : {}) }),
    environments: f.informer<HearthObject<'Environment'>>(ref(ENVIRONMENT)),
    batchJobs: f.informer<HearthObject<'BatchJob'>>(ref(BATCH_JOB)),
    namespaces: namespacesInformer(f),
    nodes: f.informer<V1Node>({ group: '', version: 'v1', plural: 'nodes', labelSelector: NODE_POOL_LABELS.pool }, { transform: slimNode }),
    pods: f.informer<V1Pod>({ group: '', version: 'v1', plural: 'pods', labelSelector: NODE_POOL_LABELS.pool }, { transform: poolPod }),
    workloads: f.informer<V1Deployment>({ group: 'apps', version: 'v1', plural: 'deployments' }, { transform: slimChild }),
    priorityClasses: f.informer<KubernetesObject>(
      { group: 'scheduling.k8s.io', version: 'v1', plural: 'priorityclasses', fieldSelector: `metadata.name=${OVERPROVISIONING_PRIORITY_CLASS}` },
      { transform: stripManagedFields },
    ),
  };
}
