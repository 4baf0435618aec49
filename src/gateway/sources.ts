// Watches that feed the gateway's catalog and endpoints: Namespaces labelled with an account,
// hearth Deployments and DeployedModels, and EndpointSlices labelled `hearth.dev/deployment`.
// client-node's informer (list, then watch) with a restart after any error: its ListWatch stops
// for good on errors other than 410, so each one is restarted with capped, jittered backoff.
// (controllers/runtime has a fuller informer; proposed: move it to src/kube/ and use it here.)
import {
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { GROUP, LABELS, VERSION } from '../crds/group.js';
import type { Catalog, ObjectLike } from './catalog.js';
import { LABEL_DEPLOYMENT, type EndpointSliceLike, type Upstreams } from './upstreams.js';

interface Handlers {
  upsert(o: KubernetesObject): void;
  remove(o: KubernetesObject): void;
}

export interface Sources {
  /** Resolves once every informer has listed once. */
  synced: Promise<void>;
  isSynced(): boolean;
  stop(): Promise<void>;
}

function watch(
  kc: KubeConfig,
  path: string,
  list: () => Promise<KubernetesListObject<KubernetesObject>>,
  labelSelector: string | undefined,
  h: Handlers,
  log: Logger,
  stopped: () => boolean,
): { informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject>; started: Promise<void> } {
  // Synced = the first list succeeded and its items were applied (client-node's start() resolves
  // even when the list fails: it reports that through 'error').
  let markListed: () => void = () => {};
  const started = new Promise<void>((resolve) => (markListed = resolve));
  let failures = 0;
  const listed = async (): Promise<KubernetesListObject<KubernetesObject>> => {
    const r = await list();
    failures = 0;
    setImmediate(markListed); // after the informer has applied the items
    return r;
  };
  const informer = makeInformer(kc, path, listed, labelSelector);
  const upsert = (o: KubernetesObject): void => {
    failures = 0;
    h.upsert(o);
  };
  informer.on('add', upsert);
  informer.on('update', upsert);
  informer.on('delete', h.remove);
  // After any error client-node's ListWatch stops for good; start() again with capped, jittered
  // backoff (it re-watches from the last resourceVersion, relisting after a 410).
  const onError = (err: unknown): void => {
    if (stopped()) return;
    log.warn({ err, path }, 'watch failed; restarting');
    const delay = Math.min(30_000, 500 * 2 ** Math.min(failures++, 6)) * (0.75 + Math.random() / 2);
    setTimeout(() => {
      if (!stopped()) informer.start().catch(onError);
    }, delay).unref();
  };
  informer.on('error', onError);
  informer.start().catch(onError);
  return { informer, started };
}

export function startSources(kc: KubeConfig, catalog: Catalog, upstreams: Upstreams, log: Logger): Sources {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  let stopped = false;
  const isStopped = (): boolean => stopped;
  const crd = (plural: string) => () =>
    custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural }) as Promise<KubernetesListObject<KubernetesObject>>;
  const accountSelector = LABELS.account;
  const watches = [
    watch(
      kc,
      '/api/v1/namespaces',
      () => core.listNamespace({ labelSelector: accountSelector }),
      accountSelector,
      { upsert: (o) => catalog.upsertNamespace(o as ObjectLike), remove: (o) => catalog.deleteNamespace(o as ObjectLike) },
      log,
      isStopped,
    ),
    watch(
      kc,
      `/apis/${GROUP}/${VERSION}/deployments`,
      crd('deployments'),
      undefined,
      { upsert: (o) => catalog.upsertDeployment(o as ObjectLike), remove: (o) => catalog.deleteDeployment(o as ObjectLike) },
      log,
      isStopped,
    ),
    watch(
      kc,
      `/apis/${GROUP}/${VERSION}/deployedmodels`,
      crd('deployedmodels'),
      undefined,
      { upsert: (o) => catalog.upsertDeployedModel(o as ObjectLike), remove: (o) => catalog.deleteDeployedModel(o as ObjectLike) },
      log,
      isStopped,
    ),
    watch(
      kc,
      '/apis/discovery.k8s.io/v1/endpointslices',
      () => discovery.listEndpointSliceForAllNamespaces({ labelSelector: LABEL_DEPLOYMENT }),
      LABEL_DEPLOYMENT,
      { upsert: (o) => upstreams.upsertSlice(o as EndpointSliceLike), remove: (o) => upstreams.deleteSlice(o as EndpointSliceLike) },
      log,
      isStopped,
    ),
  ];
  let synced = false;
  const all = Promise.all(watches.map((w) => w.started)).then(() => {
    synced = true;
  });
  return {
    synced: all,
    isSynced: () => synced,
    async stop() {
      stopped = true;
      await Promise.allSettled(watches.map((w) => w.informer.stop()));
    },
  };
}
