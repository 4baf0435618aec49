// Wiring of the BatchInferenceJob controller: informers, the events that enqueue a job's key, the
// reconciler, and the runs. The runs live as long as the controller (one leadership term): when
// it stops, every run stops and writes what it answered; the next leader resumes from there.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_VERSION } from '../../crds/group.js';
import type { Db } from '../../db/client.js';
import type { Informer } from '../../kube/informer.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import type { KubeClients } from '../../kube/client.js';
import { keyOf } from '../../kube/keys.js';
import type { Clock } from '../../util/clock.js';
import { Controller, generationChanged, type Runnable } from '../runtime/controller.js';
import { KubeWriter, type ObjectWriter } from '../runtime/writer.js';
import { batchInferenceJobInformers } from './cache.js';
import type { ArtifactStore } from '../../artifacts/index.js';
import { PgDatasetBytes, PgDatasetCatalog, StoreDatasetBytes, type DatasetBytes, type DatasetCatalog } from './datasets.js';
import { gatewaySend, type KeyFor, type Send } from './inference.js';
import { ServiceAccountKeys } from './keys.js';
import { BatchInferenceJobReconciler } from './reconciler.js';

export const CONTROLLER_NAME = 'batch-inference-job';
export const OWNER_TYPE = { apiVersion: API_VERSION, kind: 'BatchInferenceJob' } as const;
export const EVENT_SOURCE = 'hearth-batch-inference-job-controller';

export interface BatchInferenceSettings {
  /** The inference gateway's base URL (src/config.ts; in mode `all` the in-process gateway's, once it listens). */
  gatewayUrl: () => Promise<string>;
  /** Requests in flight per job unless the job says (spec.maxConcurrency). */
  concurrency: number;
  /** Answers per output part (checkpoint). */
  checkpointLines: number;
  /** Longest time between checkpoints while answers arrive. */
  checkpointMs: number;
  /** How often a running job's progress is written. */
  progressMs: number;
  /** Where dataset files live (as the REST API keeps them); absent: PostgreSQL only. */
  artifacts?: ArtifactStore;
}

export const DEFAULT_BATCH_INFERENCE: Omit<BatchInferenceSettings, 'gatewayUrl'> = {
  concurrency: 8,
  checkpointLines: 100,
  checkpointMs: 5_000,
  progressMs: 5_000,
};

export interface BatchInferenceJobControllerOptions {
  clients: KubeClients;
  informers: InformerFactory;
  db: Db;
  clock: Clock;
  log: Logger;
  settings: BatchInferenceSettings;
  /** Tests replace what reaches outside the cluster. */
  writer?: ObjectWriter;
  bytes?: DatasetBytes;
  catalog?: DatasetCatalog;
  send?: Send;
  keyFor?: KeyFor;
}

export function batchInferenceJobController(o: BatchInferenceJobControllerOptions): Runnable {
  const { jobs, deployments, namespaces } = batchInferenceJobInformers(o.informers);
  const keys = o.keyFor ? undefined : new ServiceAccountKeys(o.db, o.clock);
  const send = o.send ?? gatewaySend({ url: o.settings.gatewayUrl, keyFor: o.keyFor ?? ((a) => keys!.keyFor(a)), clock: o.clock });
  const reconciler = new BatchInferenceJobReconciler({
    listers: { jobs, deployments, namespaces },
    writer: o.writer ?? new KubeWriter(o.clients, { component: EVENT_SOURCE, now: () => o.clock.now() }),
    catalog: o.catalog ?? new PgDatasetCatalog(o.db),
    run: {
      bytes: o.bytes ?? (o.settings.artifacts ? new StoreDatasetBytes(o.db, o.settings.artifacts) : new PgDatasetBytes(o.db)),
      send,
      clock: o.clock,
      concurrency: o.settings.concurrency,
      checkpointLines: o.settings.checkpointLines,
      checkpointMs: o.settings.checkpointMs,
    },
    clock: o.clock,
    progressMs: o.settings.progressMs,
  });
  const asAny = <T extends KubernetesObject>(i: Informer<T>): Informer<KubernetesObject> => i as unknown as Informer<KubernetesObject>;
  const controller = new Controller({
    name: CONTROLLER_NAME,
    for: { informer: jobs, type: OWNER_TYPE, updates: generationChanged },
    owns: [asAny(deployments)],
    watches: [
      // A namespace's account label decides whether its jobs run, and as whom.
      { informer: asAny(namespaces), map: (ns) => jobs.list(ns.metadata?.name ?? '').map((j) => keyOf(j.metadata.namespace, j.metadata.name ?? '')) },
    ],
    reconciler,
    workers: 4,
    resyncMs: 10 * 60_000,
    clock: o.clock,
    log: o.log,
  });
  reconciler.runs.onSettled = (key) => controller.queue.add(key);
  return {
    name: CONTROLLER_NAME,
    start: () => controller.start(),
    async stop(timeoutMs?: number): Promise<boolean> {
      const done = await controller.stop(timeoutMs);
      await reconciler.runs.stopAll();
      await keys?.revokeAll();
      return done;
    },
  };
}
