// Wiring of the Deployment controller (Knative's controller.go): the informers it reads, the
// events that enqueue a Deployment's key, and the reconciler. Nothing here decides anything.
import { CoordinationV1Api, type KubeConfig, type KubernetesObject, type V1Deployment, type V1Namespace, type V1Node, type V1Pod, type V1Service } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Deployment } from '../../crds/deployment.js';
import { API_VERSION, GROUP, VERSION } from '../../crds/group.js';
import { ACCELERATOR_LABEL } from '../../fleet/catalog.js';
import type { Clock } from '../../util/clock.js';
import type { Db } from '../../db/client.js';
import { realClock } from '../../util/clock.js';
import { KubeClients, type ClientSettings } from '../../kube/client.js';
import { KubeLeaseStore, defaultIdentity, type LeaderElectionTimings } from '../runtime/leader-election.js';
import { Manager } from '../runtime/manager.js';
import { Controller } from '../runtime/controller.js';
import { Informer, stripManagedFields, type InformerOptions } from '../../kube/informer.js';
import { slimChild, slimNode, slimPod } from './cache.js';
import { keyOf } from '../../kube/keys.js';
import { KubeListWatch, type ResourceRef } from '../../kube/kube-source.js';
import { meteringRunnable } from '../metering/metering.js';
import { DbQuotaStore, type QuotaStore } from './quota-store.js';
import { DeploymentReconciler, type DesiredReplicas } from './reconciler.js';
import { LABEL_DEPLOYMENT, LABEL_MANAGED_BY, MANAGED_BY } from './resources/labels.js';
import type { RuntimeConfig } from './runtime-config.js';
import { KubeDeploymentWriter, type DeploymentWriter } from './writer.js';

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
  clients: KubeClients;
  quotas: QuotaStore;
  clock: Clock;
  log: Logger;
  runtimeConfig?: RuntimeConfig;
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
  informer?: Pick<InformerOptions, 'backoff'>;
  /**
   * Only hearth.dev Deployments matching this label selector (sharding, and tests sharing a
   * cluster); default all.
   */
  selector?: string;
  /** The API writes (default: the real API through `clients`); tests wrap it. */
  writer?: DeploymentWriter;
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

/**
 * A Deployment controller with fresh informers: make one per leadership term (Manager factories).
 * Informers: hearth.dev Deployments; apps/v1 Deployments and Services (all of them, so a child
 * name taken by an object we do not own is seen and reported, not fought over); pods (ours for
 * status, everyone's for free-GPU accounting); GPU nodes; namespaces (the account label).
 */
export function deploymentController(o: DeploymentControllerOptions): Controller<Deployment> {
  // Each cache keeps only what the reconciler reads (cache.ts): on a large cluster it holds every
  // pod, workload, Service and GPU node, and that is most of the controller's memory.
  const inf = <T extends KubernetesObject>(ref: ResourceRef, transform: (obj: T) => T, resyncMs?: number): Informer<T> =>
    new Informer<T>(new KubeListWatch<T>(o.clients, ref), { clock: o.clock, log: o.log, ...o.informer, resyncMs, transform });
  const deployments = inf<Deployment>({ group: GROUP, version: VERSION, plural: 'deployments', labelSelector: o.selector }, stripManagedFields, o.resyncMs ?? 600_000);
  const workloads = inf<V1Deployment>({ group: 'apps', version: 'v1', plural: 'deployments' }, slimChild);
  const services = inf<V1Service>({ group: '', version: 'v1', plural: 'services' }, slimChild);
  const pods = inf<V1Pod>({ group: '', version: 'v1', plural: 'pods' }, slimPod);
  const nodes = inf<V1Node>({ group: '', version: 'v1', plural: 'nodes', labelSelector: ACCELERATOR_LABEL }, slimNode);
  const namespaces = inf<V1Namespace>({ group: '', version: 'v1', plural: 'namespaces' }, stripManagedFields);

  const reconciler = new DeploymentReconciler({
    listers: { deployments, workloads, services, pods, nodes, namespaces },
    writer: o.writer ?? new KubeDeploymentWriter(o.clients, () => o.clock.now()),
    quotas: o.quotas,
    clock: o.clock,
    runtimeConfig: o.runtimeConfig,
    desiredReplicas: o.autoscaler?.desiredReplicas ?? o.desiredReplicas,
    retentionMs: o.retentionMs,
    capacityRetryMs: o.capacityRetryMs,
    quotaRetryMs: o.quotaRetryMs,
  });
  const asAny = <T extends KubernetesObject>(i: Informer<T>): Informer<KubernetesObject> => i as unknown as Informer<KubernetesObject>;
  const controller = new Controller<Deployment>({
    name: CONTROLLER_NAME,
    for: { informer: deployments, type: OWNER_TYPE },
    owns: [asAny(workloads), asAny(services)],
    watches: [
      { informer: asAny(pods), map: podOwnerKey },
      // Every informer the reconciler reads must be started by the controller: nodes through a
      // watch that also retries the deployments waiting for capacity when a node changes.
      { informer: asAny(nodes), map: () => waitingForCapacity(deployments) },
      // A namespace's account label decides whose quota its deployments use.
      { informer: asAny(namespaces), map: (ns) => deployments.list(ns.metadata?.name ?? '').map((d) => keyOf(d.metadata.namespace, d.metadata.name ?? '')) },
    ],
    reconciler,
    workers: o.workers ?? DEFAULT_WORKERS,
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

export interface DeploymentManagerOptions {
  kubeConfig: KubeConfig;
  db: Db;
  log: Logger;
  clock?: Clock;
  /** API client rate limit (default DEFAULT_CONTROLLER_CLIENT: 100 qps, burst 200). */
  client?: ClientSettings;
  /** Run only while holding this Lease (N replicas, one leader); omit for a single replica. */
  leaderElection?: LeaderElectionTimings & { namespace: string; name?: string; identity?: string };
  controller?: Omit<DeploymentControllerOptions, 'clients' | 'quotas' | 'clock' | 'log'>;
  /** Record GPU-seconds in the usage ledger (default true); only the leader meters. */
  metering?: boolean;
  shutdownTimeoutMs?: number;
}

/**
 * The `controller` mode's Deployment part, ready to start: a Manager (leader-elected when asked)
 * whose every leadership term runs a fresh Deployment controller on PostgreSQL quotas, and the
 * metering of GPU-seconds into the usage ledger.
 * `manager.start()`, then `await manager.stop()` on SIGTERM (handleShutdownSignals does both).
 */
export function deploymentManager(o: DeploymentManagerOptions): Manager {
  const clock = o.clock ?? realClock;
  const clients = new KubeClients(o.kubeConfig, { ...DEFAULT_CONTROLLER_CLIENT, ...o.client }, clock);
  const quotas = new DbQuotaStore(o.db, clock);
  const le = o.leaderElection;
  const manager = new Manager({
    clock,
    log: o.log,
    shutdownTimeoutMs: o.shutdownTimeoutMs,
    ...(le
      ? {
          leaderElection: {
            ...le,
            store: new KubeLeaseStore(clients.api(CoordinationV1Api), le.namespace, le.name ?? 'hearth-deployment-controller'),
            identity: le.identity ?? defaultIdentity(),
          },
        }
      : {}),
  });
  manager.add(() => deploymentController({ ...o.controller, clients, quotas, clock, log: o.log }));
  if (o.metering !== false) manager.add(() => meteringRunnable({ clients, db: o.db, clock, log: o.log }));
  return manager;
}
