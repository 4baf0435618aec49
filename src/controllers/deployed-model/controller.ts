// Wiring of the DeployedModel controller: its informers (cache.ts), what wakes a DeployedModel, and
// the reconciler with its model-server client, database stores and the process's Dialer.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { accountOfNamespace } from '../../crds/account.js';
import type { DeployedModel } from '../../crds/deployed-model.js';
import { API_VERSION } from '../../crds/group.js';
import type { Db } from '../../db/client.js';
import { directDialer, type Dialer } from '../../kube/dial.js';
import { sliceDeploymentKey } from '../../kube/endpoint-slices.js';
import type { KubeClients } from '../../kube/client.js';
import type { Informer } from '../../kube/informer.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import { keyOf } from '../../kube/keys.js';
import type { Clock } from '../../util/clock.js';
import { Controller, generationChanged, type Lister } from '../runtime/controller.js';
import { KubeWriter } from '../runtime/writer.js';
import { deployedModelInformers } from './cache.js';
import { HttpModelFilesApi, signedModelFileUrls, type ModelFilesApi } from './model-files.js';
import { HttpAdapterApi, type AdapterApi } from './model-server.js';
import { DeployedModelReconciler, localDeploymentName, type DeployedModelReconcilerOptions } from './reconciler.js';
import { DbAdapterModels, DbLoraQuota, type AdapterModels, type LoraQuota } from './stores.js';

export const CONTROLLER_NAME = 'deployedmodel';
const EVENT_SOURCE = 'hearth-deployedmodel-controller';

export interface DeployedModelSettings {
  /** Only this namespace's DeployedModels (tests sharing a cluster); default all. */
  namespace?: string;
  /**
   * Only the DeployedModels of the Deployments matching this selector (the Deployment controller's
   * HEARTH_CONTROLLER_SELECTOR: sharding, tests sharing a cluster); the others are left untouched.
   */
  deploymentSelector?: string;
  /** How often a Ready replica's adapters are re-read (default 10 s). */
  pollMs?: number;
  workers?: number;
  /** Timeout of one adapter API call (default 30 s: a load reads the adapter's weights). */
  requestTimeoutMs?: number;
  /** How replicas are reached (src/kube/dial.ts); default the pod address itself. */
  dial?: Dialer;
  defaultMaxLoras?: number;
  /**
   * Puts adapters' files into the replicas through their model-files sidecars (model-files.ts):
   * the API's URL as pods reach it and the secret its signed URLs verify with. Unset: not done.
   */
  modelFiles?: { sourceUrl: string; secret?: string | Buffer | undefined; ttlMs?: number };
}

export interface DeployedModelControllerOptions extends DeployedModelSettings {
  clients: KubeClients;
  informers: InformerFactory;
  db: Db;
  clock: Clock;
  log: Logger;
  /** Test seams: the adapter API and the stores (default: HTTP and PostgreSQL). */
  api?: AdapterApi;
  filesApi?: ModelFilesApi;
  models?: AdapterModels;
  quota?: LoraQuota;
}

/** The replicas' model-files sidecars, when configured. */
function filesOption(o: DeployedModelControllerOptions): Pick<DeployedModelReconcilerOptions, 'files'> {
  if (!o.modelFiles) return {};
  return { files: { api: o.filesApi ?? new HttpModelFilesApi(o.dial ?? directDialer), urls: signedModelFileUrls({ ...o.modelFiles, clock: o.clock }) } };
}

/**
 * A DeployedModel being deleted (or gone) frees a `--max-loras` slot on its deployment and a `loras`
 * unit of the account: the FAILED DeployedModels of its namespace that were refused one
 * (TooManyAdapters, QuotaExceeded — e.g. a `replaceMergedAddon` load whose predecessor was still
 * there) are looked at again now, not at the next resync.
 */
export function failedToWake(deployedModels: Lister<DeployedModel>): (d: KubernetesObject) => string[] {
  return (d) => {
    const ns = d.metadata?.namespace;
    if (!ns || d.metadata?.deletionTimestamp === undefined) return [];
    return deployedModels
      .list(ns)
      .filter((o) => o.metadata.name !== d.metadata?.name && o.status?.state === 'FAILED' && !o.metadata.deletionTimestamp)
      .map((o) => keyOf(ns, o.metadata.name ?? ''));
  };
}

export function deployedModelController(o: DeployedModelControllerOptions): Controller<DeployedModel> {
  const { deployedModels, deployments, endpointSlices, namespaces } = deployedModelInformers(o.informers, o.namespace, o.deploymentSelector);
  const reconciler = new DeployedModelReconciler({
    listers: { deployedModels, deployments, endpointSlices, namespaces },
    writer: new KubeWriter(o.clients, { component: EVENT_SOURCE, now: () => o.clock.now() }),
    api: o.api ?? new HttpAdapterApi(o.dial ?? directDialer, o.requestTimeoutMs),
    models: o.models ?? new DbAdapterModels(o.db),
    quota: o.quota ?? new DbLoraQuota(o.db),
    clock: o.clock,
    ...(o.deploymentSelector ? { sharded: true } : {}),
    ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}),
    ...(o.defaultMaxLoras !== undefined ? { defaultMaxLoras: o.defaultMaxLoras } : {}),
    ...filesOption(o),
  });
  const asAny = <T extends KubernetesObject>(i: Informer<T>): Informer<KubernetesObject> => i as unknown as Informer<KubernetesObject>;
  /** The DeployedModels on deployment `namespace/name`. */
  const onDeployment = (namespace: string | undefined, name: string | undefined): string[] => {
    if (!namespace || !name) return [];
    const account = accountOfNamespace(namespaces.get(namespace));
    return deployedModels
      .list(namespace)
      .filter((d) => localDeploymentName(d.spec.deployment, account) === name)
      .map((d) => keyOf(namespace, d.metadata.name ?? ''));
  };
  return new Controller<DeployedModel>({
    name: CONTROLLER_NAME,
    for: { informer: deployedModels, type: { apiVersion: API_VERSION, kind: 'DeployedModel' }, updates: generationChanged },
    watches: [
      // The base deployment appears, is deleted, turns addons on, changes numPeftDeviceCached.
      { informer: asAny(deployments), map: (d) => onDeployment(d.metadata?.namespace, d.metadata?.name) },
      // A replica becomes Ready or goes: load onto it before the gateway routes adapter traffic there.
      {
        informer: asAny(endpointSlices),
        map: (s) => {
          const key = sliceDeploymentKey(s);
          const slash = key?.indexOf('/') ?? -1;
          return key && slash > 0 ? onDeployment(key.slice(0, slash), key.slice(slash + 1)) : [];
        },
      },
      // A sibling goes: a FAILED one refused its slot or quota unit may fit now.
      { informer: asAny(deployedModels), map: failedToWake(deployedModels) },
      { informer: asAny(namespaces), map: (ns) => deployedModels.list(ns.metadata?.name ?? '').map((d) => keyOf(d.metadata.namespace, d.metadata.name ?? '')) },
    ],
    reconciler,
    workers: o.workers ?? 4,
    resyncMs: 10 * 60_000,
    clock: o.clock,
    log: o.log,
  });
}
