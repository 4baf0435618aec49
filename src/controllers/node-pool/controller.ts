// Wiring of the NodePool controller: its informers (cache.ts), what wakes a pool (its nodes, the
// pods that target it, the environments and batch jobs using it, its placeholder Deployment), and
// the reconciler with the Karpenter and selected-node clients.
import type { KubernetesObject, V1Node, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_VERSION } from '../../crds/group.js';
import { NODE_POOL_LABELS } from '../../fleet/node-pools.js';
import type { KubeClients } from '../../kube/client.js';
import type { Informer } from '../../kube/informer.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import { keyOf } from '../../kube/keys.js';
import type { Clock } from '../../util/clock.js';
import { Controller, generationChanged } from '../runtime/controller.js';
import { KubeWriter, type HearthObject } from '../runtime/writer.js';
import { nodePoolInformers } from './cache.js';
import { KubeKarpenterApi, type KarpenterApi } from './karpenter.js';
import { KubeSelectedNodes, type SelectedNodesApi } from './nodes-api.js';
import { NodePoolReconciler, accountOf } from './reconciler.js';

export const CONTROLLER_NAME = 'nodepool';
const EVENT_SOURCE = 'hearth-nodepool-controller';

export interface NodePoolSettings {
  /** Only this namespace's NodePools (tests sharing a cluster); default all. */
  namespace?: string;
  /** How long a simulated node stays without pods before it is removed (default 10 min). */
  idleWindowMs?: number;
  /** The EC2NodeClass Karpenter NodePools refer to (default `default`). */
  karpenterNodeClass?: string;
  workers?: number;
}

export interface NodePoolControllerOptions extends NodePoolSettings {
  clients: KubeClients;
  informers: InformerFactory;
  clock: Clock;
  log: Logger;
  /** Test seams (default: the API server). */
  karpenter?: KarpenterApi;
  selected?: SelectedNodesApi;
}

export function nodePoolController(o: NodePoolControllerOptions): Controller<HearthObject<'NodePool'>> {
  const inf = nodePoolInformers(o.informers, o.namespace);
  const reconciler = new NodePoolReconciler({
    listers: inf,
    writer: new KubeWriter(o.clients, { component: EVENT_SOURCE, now: () => o.clock.now() }),
    karpenter: o.karpenter ?? new KubeKarpenterApi(o.clients, o.clock),
    selected: o.selected ?? new KubeSelectedNodes(o.clients),
    clock: o.clock,
    ...(o.idleWindowMs !== undefined ? { idleWindowMs: o.idleWindowMs } : {}),
    ...(o.karpenterNodeClass ? { karpenterNodeClass: o.karpenterNodeClass } : {}),
  });
  const asAny = <T extends KubernetesObject>(i: Informer<T>): Informer<KubernetesObject> => i as unknown as Informer<KubernetesObject>;
  const poolKey = (pool: string | undefined, match: (p: HearthObject<'NodePool'>) => boolean): string[] =>
    pool ? inf.nodePools.list().filter((p) => p.metadata.name === pool && match(p)).map((p) => keyOf(p.metadata.namespace, p.metadata.name ?? '')) : [];
  const onNode = (n: KubernetesObject): string[] => {
    const l = (n as V1Node).metadata?.labels ?? {};
    return poolKey(l[NODE_POOL_LABELS.pool], (p) => accountOf(p, inf.namespaces) === l[NODE_POOL_LABELS.account]);
  };
  const onPod = (p: KubernetesObject): string[] => {
    const pod = p as V1Pod;
    const account = pod.spec?.nodeSelector?.[NODE_POOL_LABELS.account];
    return poolKey(pod.metadata?.labels?.[NODE_POOL_LABELS.pool], (pool) => (account ? accountOf(pool, inf.namespaces) === account : pool.metadata.namespace === pod.metadata?.namespace));
  };
  const inNamespace = (ns: string | undefined, id: unknown): string[] => (ns && typeof id === 'string' ? [keyOf(ns, id)] : []);
  const onEnvironment = (o: KubernetesObject): string[] => {
    const env = o as HearthObject<'Environment'>;
    const ids = new Set([env.spec?.connection?.nodePoolId, env.status?.connection?.nodePoolId]);
    return [...ids].flatMap((id) => inNamespace(env.metadata?.namespace, id));
  };
  const onBatchJob = (o: KubernetesObject): string[] => inNamespace(o.metadata?.namespace, (o as HearthObject<'BatchJob'>).spec?.nodePoolId);
  const allPools = (): string[] => inf.nodePools.list().map((p) => keyOf(p.metadata.namespace, p.metadata.name ?? ''));
  return new Controller<HearthObject<'NodePool'>>({
    name: CONTROLLER_NAME,
    for: { informer: inf.nodePools, type: { apiVersion: API_VERSION, kind: 'NodePool' }, updates: generationChanged },
    owns: [asAny(inf.workloads)],
    watches: [
      { informer: asAny(inf.nodes), map: onNode },
      { informer: asAny(inf.pods), map: onPod },
      { informer: asAny(inf.environments), map: onEnvironment },
      { informer: asAny(inf.batchJobs), map: onBatchJob },
      { informer: asAny(inf.namespaces), map: (ns) => inf.nodePools.list(ns.metadata?.name ?? '').map((p) => keyOf(p.metadata.namespace, p.metadata.name ?? '')) },
      { informer: inf.priorityClasses, map: allPools },
    ],
    reconciler,
    workers: o.workers ?? 2,
    resyncMs: 5 * 60_000,
    clock: o.clock,
    log: o.log,
  });
}
