// Wiring of the Deployment controller (Knative's controller.go): the informers it reads, the
// events that enqueue a Deployment's key, and the reconciler. Nothing here decides anything.
import { CustomObjectsApi, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Deployment } from '../../crds/deployment.js';
import { API_VERSION } from '../../crds/group.js';
import type { Clock } from '../../util/clock.js';
import type { KubeClients } from '../../kube/client.js';
import type { Informer } from '../../kube/informer.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import { keyOf, splitKey } from '../../kube/keys.js';
import { DEPLOYMENT } from '../../crds/registry.js';
import { isNotFound } from '../runtime/result.js';
import { ownerKey } from '../runtime/owner-refs.js';
import { Controller } from '../runtime/controller.js';
import { KubeWriter, type ObjectWriter } from '../runtime/writer.js';
import { deploymentInformers } from './cache.js';
import type { QuotaLedger } from './quota-ledger.js';
import { DeploymentReconciler, type DesiredReplicas } from './reconciler.js';
import { LABEL_DEPLOYMENT, LABEL_MANAGED_BY, MANAGED_BY } from './children/labels.js';
import type { ModelServerConfig } from './model-server-config.js';

export const CONTROLLER_NAME = 'deployment';
/**
 * Concurrent reconciles. A pass mostly waits on the API server and PostgreSQL (≈4 round trips), so
 * workers are what lets the controller use its client rate limit: at ~200 ms a pass under load and
 * ~2 passes per new deployment, 8 workers keep up with ~20 new deployments/s, above what the
 * client limit (DEFAULT_CONTROLLER_CLIENT) allows at 6 writes each. controller-runtime's default is
 * 1 and Knative's 4; one key is never reconciled twice at once whatever the number.
 */
export const DEFAULT_WORKERS = 8;
/**
 * The controller manager's API client limit (client-go rest.Config QPS/Burst). The runtime's
 * library default (20/30, controller-runtime's and kube-controller-manager's) caps a controller
 * writing ~6 times per new deployment at ~3 deployments/s, whatever the cluster could take.
 * Controllers that create at scale raise it: Karpenter ships 200/300, Knative's net-kourier
 * 200/200, managed control planes run kube-controller-manager at 100/100 (200 past 1,000 nodes).
 * 100/200 lets a burst of ~16 new deployments/s through, more than the simulated 2-core cluster
 * sustains, while still bounding a hot loop; API Priority and Fairness protects the API server
 * beyond that. HEARTH_CONTROLLER_QPS / HEARTH_CONTROLLER_BURST override it (src/main.ts).
 */
export const DEFAULT_CONTROLLER_CLIENT = { qps: 100, burst: 200 } as const;
export const OWNER_TYPE = { apiVersion: API_VERSION, kind: 'Deployment' } as const;
/** Who reports the controller's events (Event.source.component). */
export const EVENT_SOURCE = 'hearth-deployment-controller';
/** Every resyncMs every cached Deployment is reconciled again, at low priority. */
export const DEFAULT_RESYNC_MS = 10 * 60_000;

/**
 * An autoscaler (src/controllers/autoscaler Autoscaler, structurally): it decides the replicas and
 * may enqueue a deployment from outside (a held request at zero, a window that elapsed).
 */
export interface AutoscalerHook {
  desiredReplicas: DesiredReplicas;
  /** Called once per controller (leadership term): where to enqueue, and whether a key still exists. */
  attach(enqueue: (key: string) => void, exists: (key: string) => boolean): unknown;
}

export interface DeploymentControllerOptions {
  /** The process's rate-limited API clients: the writer's (unless `writer` is given). */
  clients: KubeClients;
  /** The process's shared informer cache (one watch per collection, kept warm across terms). */
  informers: InformerFactory;
  quotas: QuotaLedger;
  clock: Clock;
  log: Logger;
  modelServerConfig?: ModelServerConfig;
  desiredReplicas?: DesiredReplicas;
  /** Wins over `desiredReplicas`. */
  autoscaler?: AutoscalerHook;
  retentionMs?: number;
  capacityRetryMs?: number;
  quotaRetryMs?: number;
  /** Concurrent reconciles (default DEFAULT_WORKERS). */
  workers?: number;
  /** Every resyncMs, every cached Deployment is reconciled again (default 10 min; 0 = never). */
  resyncMs?: number;
  /**
   * Only hearth.dev Deployments matching this label selector (sharding, and tests sharing a
   * cluster); default all.
   */
  selector?: string;
  /** The API writes (default: the real API through `clients`); tests wrap it. */
  writer?: ObjectWriter;
}

/** The key of the hearth.dev Deployment whose model server a pod runs (by the labels Hearth puts on it). */
export function podOwnerKey(pod: KubernetesObject): string[] {
  const labels = pod.metadata?.labels ?? {};
  const name = labels[LABEL_DEPLOYMENT];
  return labels[LABEL_MANAGED_BY] === MANAGED_BY && name ? [keyOf(pod.metadata?.namespace, name)] : [];
}

/**
 * Keys of the deployments a pass found no region for (a status without a region). One that has no
 * status yet has its first pass queued already: a node event must not jump it ahead of the queue.
 */
function waitingForCapacity(deployments: Informer<Deployment>): string[] {
  return deployments
    .list()
    .filter((d) => d.status !== undefined && !d.status.region && !d.metadata.deletionTimestamp)
    .map((d) => keyOf(d.metadata.namespace, d.metadata.name ?? ''));
}

/** Whether a hearth.dev Deployment exists, asked of the API server (one GET through the rate-limited client). */
export function deploymentExists(clients: KubeClients): (key: string) => Promise<boolean> {
  const custom = clients.api(CustomObjectsApi);
  return async (key) => {
    const { namespace, name } = splitKey(key);
    if (!namespace) return false;
    try {
      await custom.getNamespacedCustomObject({ group: DEPLOYMENT.group, version: DEPLOYMENT.version, namespace, plural: DEPLOYMENT.plural, name });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  };
}

/**
 * A Deployment controller on the shared informer cache: make one per leadership term (Manager
 * factories); its informers are the process's and stay warm between terms. Informers: see cache.ts.
 */
export function deploymentController(o: DeploymentControllerOptions): Controller<Deployment> {
  const { deployments, workloads, services, pods, nodes, namespaces } = deploymentInformers(o.informers, o.selector);
  const reconciler = new DeploymentReconciler({
    listers: { deployments, workloads, services, pods, nodes, namespaces },
    writer: o.writer ?? new KubeWriter(o.clients, { component: EVENT_SOURCE, now: () => o.clock.now() }),
    quotas: o.quotas,
    clock: o.clock,
    modelServerConfig: o.modelServerConfig,
    desiredReplicas: o.autoscaler?.desiredReplicas ?? o.desiredReplicas,
    retentionMs: o.retentionMs,
    capacityRetryMs: o.capacityRetryMs,
    quotaRetryMs: o.quotaRetryMs,
    exists: deploymentExists(o.clients),
  });
  const asAny = <T extends KubernetesObject>(i: Informer<T>): Informer<KubernetesObject> => i as unknown as Informer<KubernetesObject>;
  // A shard caches only its own Deployments but every child and pod: events of another shard's
  // children would each cost a pass that finds nothing (at 2 shards, more than half the passes).
  // Sharded, a child or pod event enqueues its Deployment only when this shard has it.
  const mine = (keys: string[]): string[] => (o.selector ? keys.filter((k) => deployments.get(k) !== undefined) : keys);
  const childOwner = (c: KubernetesObject): string[] => mine([ownerKey(c, OWNER_TYPE)].filter((k): k is string => k !== undefined));
  const controller = new Controller<Deployment>({
    name: CONTROLLER_NAME,
    for: { informer: deployments, type: OWNER_TYPE },
    ...(o.selector ? {} : { owns: [asAny(workloads), asAny(services)] }),
    watches: [
      ...(o.selector ? [{ informer: asAny(workloads), map: childOwner }, { informer: asAny(services), map: childOwner }] : []),
      { informer: asAny(pods), map: (p) => mine(podOwnerKey(p)) },
      // Every informer the reconciler reads must be started by the controller: nodes through a
      // watch that also retries the deployments waiting for capacity when a node changes.
      { informer: asAny(nodes), map: () => waitingForCapacity(deployments) },
      // A namespace's account label decides whose quota its deployments use.
      { informer: asAny(namespaces), map: (ns) => deployments.list(ns.metadata?.name ?? '').map((d) => keyOf(d.metadata.namespace, d.metadata.name ?? '')) },
    ],
    reconciler,
    workers: o.workers ?? DEFAULT_WORKERS,
    resyncMs: o.resyncMs ?? DEFAULT_RESYNC_MS,
    clock: o.clock,
    log: o.log,
  });
  // Until the cache syncs every key counts as existing (the autoscaler must not forget them).
  o.autoscaler?.attach(
    (key) => controller.queue.add(key),
    (key) => !deployments.hasSynced() || deployments.get(key) !== undefined,
  );
  return controller;
}
