// Wiring of the Environment controller: its informers (cache.ts), what wakes an Environment (its
// pods, its node pool, its namespace), and the reconciler with the database's users and bindings
// and the API server's node zones.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_VERSION } from '../../crds/group.js';
import type { Db } from '../../db/client.js';
import type { KubeClients } from '../../kube/client.js';
import type { Informer } from '../../kube/informer.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import { keyOf } from '../../kube/keys.js';
import type { Clock } from '../../util/clock.js';
import { Controller, generationChanged } from '../runtime/controller.js';
import { KubeWriter, type HearthObject, type ObjectWriter } from '../runtime/writer.js';
import { DbPoolAccess, type PoolAccess } from './access.js';
import { environmentInformers } from './cache.js';
import { EnvironmentReconciler, type NodeZones } from './reconciler.js';
import { KubeNodeZones } from './zones.js';

export const CONTROLLER_NAME = 'environment';
export const OWNER_TYPE = { apiVersion: API_VERSION, kind: 'Environment' } as const;
const EVENT_SOURCE = 'hearth-environment-controller';

export interface EnvironmentSettings {
  /** Only this namespace's Environments (tests sharing a cluster); default all. */
  namespace?: string;
  /** The image of an environment created without baseImageRef. */
  defaultImage?: string;
  workers?: number;
}

export interface EnvironmentControllerOptions extends EnvironmentSettings {
  clients: KubeClients;
  informers: InformerFactory;
  db: Db;
  clock: Clock;
  log: Logger;
  /** Test seams. */
  writer?: ObjectWriter;
  access?: PoolAccess;
  zones?: NodeZones;
}

export function environmentController(o: EnvironmentControllerOptions): Controller<HearthObject<'Environment'>> {
  const { environments, nodePools, pods, namespaces } = environmentInformers(o.informers, o.namespace);
  const reconciler = new EnvironmentReconciler({
    listers: { environments, nodePools, pods, namespaces },
    writer: o.writer ?? new KubeWriter(o.clients, { component: EVENT_SOURCE, now: () => o.clock.now() }),
    access: o.access ?? new DbPoolAccess(o.db),
    zones: o.zones ?? new KubeNodeZones(o.clients, o.clock),
    clock: o.clock,
    ...(o.defaultImage ? { defaultImage: o.defaultImage } : {}),
  });
  const asAny = <T extends KubernetesObject>(i: Informer<T>): Informer<KubernetesObject> => i as unknown as Informer<KubernetesObject>;
  const inNamespace = (ns: string | undefined) => environments.list(ns ?? '').map((e) => keyOf(e.metadata.namespace, e.metadata.name ?? ''));
  return new Controller<HearthObject<'Environment'>>({
    name: CONTROLLER_NAME,
    for: { informer: environments, type: OWNER_TYPE, updates: generationChanged },
    // A rank's pod is scheduled, becomes Ready, dies or goes.
    owns: [asAny(pods)],
    watches: [
      // The pool appears (a connection waiting for it) or is being deleted.
      {
        informer: asAny(nodePools),
        map: (p) => environments.list(p.metadata?.namespace ?? '').filter((e) => e.spec.connection?.nodePoolId === p.metadata?.name).map((e) => keyOf(e.metadata.namespace, e.metadata.name ?? '')),
      },
      // The namespace's account label decides whether its environments are ours.
      { informer: asAny(namespaces), map: (ns) => inNamespace(ns.metadata?.name) },
    ],
    reconciler,
    workers: o.workers ?? 2,
    resyncMs: 10 * 60_000,
    clock: o.clock,
    log: o.log,
  });
}
