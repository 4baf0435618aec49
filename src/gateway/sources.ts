// What feeds the gateway's catalog and endpoints: Namespaces (the account label), hearth
// Deployments and DeployedModels, and EndpointSlices labelled `hearth.dev/deployment` — read from
// the process's informers (src/kube/informer-factory.ts), whose restart, backoff, relist and
// "synced" are the ones the controller and the REST kind clients use. In mode `all` the gateway opens
// one watch of its own (EndpointSlices); the rest are the controller's and the API's watches.
//
// Sharing choices (one watch has one projection and one selector):
// - Namespaces: every namespace, not only those with an account label, so the watch is the
//   controller's. Namespaces are few, the catalog ignores unlabelled ones at no cost, and a label
//   removed arrives as an update instead of a delete, which the catalog treats alike. Read through
//   the namespace seal (`informers.namespaces()`): a namespace labelled with an account by anyone
//   but Hearth arrives without the label, so nothing in it is routed to as that account's.
// - EndpointSlices: only `hearth.dev/deployment` ones (a selector). No other reader watches
//   slices, so sharing would save no stream, and without it the gateway would cache every slice of
//   the cluster (one per Service) to use Hearth's.
// - Services: only Hearth's (managed-by hearth, with a `hearth.dev/deployment` label), so that the
//   EndpointGuard admits a slice only when a Service Hearth made owns it (issue 15 item 9).
// - Every collection with the factory's default projection (less managedFields), as the
//   controller and the REST kind clients ask for it.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { GROUP, LABELS, MANAGED_BY, VERSION } from '../crds/group.js';
import { unwrapTombstone, type Informer } from '../kube/informer.js';
import { NAMESPACES, type InformerFactory } from '../kube/informer-factory.js';
import type { ResourceRef } from '../kube/kube-source.js';
import type { Catalog, ObjectLike } from './catalog.js';
import { EndpointGuard, type ServiceLike } from './endpoint-guard.js';
import { HEARTH_ENDPOINT_SLICES } from '../kube/endpoint-slices.js';
import type { EndpointSliceLike, Upstreams } from './upstreams.js';

export interface Sources {
  /** Resolves once every informer has listed once. */
  synced: Promise<void>;
  isSynced(): boolean;
  stop(): Promise<void>;
}

/** The collections the gateway reads (exported for the shared-watch count in tests). */
export const GATEWAY_COLLECTIONS = {
  namespaces: NAMESPACES,
  deployments: { group: GROUP, version: VERSION, plural: 'deployments' },
  deployedModels: { group: GROUP, version: VERSION, plural: 'deployedmodels' },
  // Shared with the DeployedModel controller in mode `all` (the same ref: one watch).
  endpointSlices: HEARTH_ENDPOINT_SLICES,
  services: { group: '', version: 'v1', plural: 'services', labelSelector: `${LABELS.managedBy}=${MANAGED_BY},${LABELS.deployment}` },
} as const satisfies Record<string, ResourceRef>;

interface Feed {
  informer: Informer<KubernetesObject>;
  upsert(o: KubernetesObject): void;
  remove(o: KubernetesObject): void;
}

export function startSources(informers: InformerFactory, catalog: Catalog, upstreams: Upstreams, log: Logger): Sources {
  const inf = (ref: ResourceRef): Informer<KubernetesObject> => informers.informer<KubernetesObject>(ref);
  const c = GATEWAY_COLLECTIONS;
  const guard = new EndpointGuard(upstreams, log);
  const feeds: Feed[] = [
    { informer: informers.namespaces() as Informer<KubernetesObject>, upsert: (o) => catalog.upsertNamespace(o as ObjectLike), remove: (o) => catalog.deleteNamespace(o as ObjectLike) },
    { informer: inf(c.deployments), upsert: (o) => catalog.upsertDeployment(o as ObjectLike), remove: (o) => catalog.deleteDeployment(o as ObjectLike) },
    { informer: inf(c.deployedModels), upsert: (o) => catalog.upsertDeployedModel(o as ObjectLike), remove: (o) => catalog.deleteDeployedModel(o as ObjectLike) },
    { informer: inf(c.services), upsert: (o) => guard.upsertService(o as ServiceLike), remove: (o) => guard.deleteService(o as ServiceLike) },
    { informer: inf(c.endpointSlices), upsert: (o) => guard.upsertSlice(o as EndpointSliceLike), remove: (o) => guard.deleteSlice(o as EndpointSliceLike) },
  ];
  // Handlers first (an informer another reader already synced replays its cache as adds), then
  // this reader's hold on each informer.
  const unsubscribe = feeds.map((f) =>
    f.informer.addEventHandler({
      add: f.upsert,
      update: (_old, o) => f.upsert(o),
      delete: (o) => f.remove(unwrapTombstone(o)),
    }),
  );
  for (const f of feeds) f.informer.start();
  log.debug({ watches: feeds.map((f) => f.informer.description) }, 'gateway sources started');
  let synced = false;
  let stopped = false;
  const stopWaiting = new AbortController();
  const all = Promise.all(feeds.map((f) => f.informer.waitForSync(stopWaiting.signal))).then((results) => {
    if (results.every(Boolean)) synced = true;
  });
  return {
    synced: all,
    isSynced: () => synced,
    async stop() {
      if (stopped) return;
      stopped = true;
      stopWaiting.abort();
      for (const off of unsubscribe) off();
      await Promise.all(feeds.map((f) => f.informer.stop()));
    },
  };
}
