// Wiring of the BatchJob controller: informers (cache.ts), what wakes a BatchJob (its Job, its
// pods by label, its node pool and environment, its namespace), the reconciler with its stores,
// and the retention purge of archived logs (leader only, hourly).
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_VERSION } from '../../crds/group.js';
import type { Db } from '../../db/client.js';
import { purgeLogsArchivedBefore } from '../../db/repositories/batch-job-logs.js';
import type { KubeClients } from '../../kube/client.js';
import type { Informer } from '../../kube/informer.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import { keyOf } from '../../kube/keys.js';
import { KubePodLogs } from '../../kube/pod-logs.js';
import type { Clock, Timer } from '../../util/clock.js';
import { Controller, generationChanged, type Runnable } from '../runtime/controller.js';
import { KubeWriter } from '../runtime/writer.js';
import { batchJobInformers } from './cache.js';
import { BatchJobReconciler } from './reconciler.js';
import { BATCH_JOB_LABELS } from './resources.js';
import { DbLogArchive, DbPoolAccess, type LogArchive, type PoolAccess } from './stores.js';

export const CONTROLLER_NAME = 'batch-job';
const EVENT_SOURCE = 'hearth-batch-job-controller';
const PURGE_EVERY_MS = 60 * 60_000;
export const DEFAULT_WORKERS = 16;

export interface BatchJobSettings {
  /** How long a finished rank's archived output is kept (config HEARTH_BATCH_JOB_LOG_RETENTION_DAYS). */
  logRetentionMs: number;
  workers?: number;
  pollMs?: number;
  /** Only this namespace's BatchJobs (tests sharing a cluster); default all. */
  namespace?: string;
}

export const DEFAULT_BATCH_JOB: BatchJobSettings = { logRetentionMs: 30 * 24 * 60 * 60_000 };

export interface BatchJobControllerOptions {
  clients: KubeClients;
  informers: InformerFactory;
  db: Db;
  clock: Clock;
  log: Logger;
  settings: BatchJobSettings;
  /** Test seams. */
  access?: PoolAccess;
  logs?: LogArchive;
}

export function batchJobController(o: BatchJobControllerOptions): Runnable {
  const inf = batchJobInformers(o.informers, o.settings.namespace);
  const reconciler = new BatchJobReconciler({
    listers: inf,
    writer: new KubeWriter(o.clients, { component: EVENT_SOURCE, now: () => o.clock.now() }),
    access: o.access ?? new DbPoolAccess(o.db),
    logs: o.logs ?? new DbLogArchive(o.db, new KubePodLogs(o.clients), o.clock),
    clock: o.clock,
    ...(o.settings.pollMs !== undefined ? { pollMs: o.settings.pollMs } : {}),
  });
  const asAny = <T extends KubernetesObject>(i: Informer<T>): Informer<KubernetesObject> => i as unknown as Informer<KubernetesObject>;
  /** The jobs of a namespace that name `field` = `id` (a pool or an environment appeared or changed). */
  const naming = (field: 'nodePoolId' | 'environmentId') => (o: KubernetesObject) =>
    inf.batchJobs
      .list(o.metadata?.namespace ?? '')
      .filter((j) => j.spec[field] === o.metadata?.name && !j.status?.state?.match(/^(COMPLETED|FAILED|CANCELLED)$/))
      .map((j) => keyOf(j.metadata.namespace, j.metadata.name ?? ''));
  const controller = new Controller({
    name: CONTROLLER_NAME,
    // Annotations (:cancel) do not bump the generation: every update of a BatchJob is looked at.
    for: { informer: inf.batchJobs, type: { apiVersion: API_VERSION, kind: 'BatchJob' }, updates: (a, b) => generationChanged(a, b) || annotationsChanged(a, b) || deleting(b) },
    owns: [asAny(inf.jobs)],
    watches: [
      {
        informer: asAny(inf.pods),
        map: (p) => {
          const name = p.metadata?.labels?.[BATCH_JOB_LABELS.batchJob];
          return name && p.metadata?.namespace ? [keyOf(p.metadata.namespace, name)] : [];
        },
      },
      { informer: asAny(inf.nodePools), map: naming('nodePoolId') },
      { informer: asAny(inf.environments), map: naming('environmentId') },
      { informer: asAny(inf.namespaces), map: (ns) => inf.batchJobs.list(ns.metadata?.name ?? '').map((j) => keyOf(j.metadata.namespace, j.metadata.name ?? '')) },
    ],
    reconciler,
    // A pass is a few API calls and little CPU: more workers keep a burst of new jobs from queueing.
    workers: o.settings.workers ?? DEFAULT_WORKERS,
    resyncMs: 10 * 60_000,
    clock: o.clock,
    log: o.log,
  });
  let timer: Timer | undefined;
  let stopped = false;
  const purge = async (): Promise<void> => {
    try {
      const n = await purgeLogsArchivedBefore(o.db, new Date(o.clock.now() - o.settings.logRetentionMs));
      if (n > 0) o.log.info({ ranks: n }, 'purged archived batch job logs past retention');
    } catch (e) {
      o.log.warn({ err: e }, 'purging archived batch job logs failed; trying again later');
    }
    if (!stopped) timer = o.clock.setTimeout(() => void purge(), PURGE_EVERY_MS);
  };
  return {
    name: CONTROLLER_NAME,
    async start() {
      await controller.start();
      void purge();
    },
    async stop(timeoutMs?: number): Promise<boolean> {
      stopped = true;
      if (timer) o.clock.clearTimeout(timer);
      return controller.stop(timeoutMs);
    },
  };
}

function annotationsChanged(a: KubernetesObject, b: KubernetesObject): boolean {
  return JSON.stringify(a.metadata?.annotations ?? {}) !== JSON.stringify(b.metadata?.annotations ?? {});
}

function deleting(b: KubernetesObject): boolean {
  return b.metadata?.deletionTimestamp !== undefined;
}
