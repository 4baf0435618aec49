// Wiring of the SFTJob controller: informers, the events that enqueue a job's key (its own changes,
// including the :cancel/:resume annotations and the trainer's progress annotation; its Jobs; its
// trainer pods, so RUNNING follows the pod's start at once), the reconciler.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ArtifactStore } from '../../artifacts/index.js';
import { API_VERSION } from '../../crds/group.js';
import type { Db } from '../../db/client.js';
import type { Informer } from '../../kube/informer.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import type { KubeClients } from '../../kube/client.js';
import { keyOf } from '../../kube/keys.js';
import type { Clock } from '../../util/clock.js';
import { Controller, generationChanged, type Runnable } from '../runtime/controller.js';
import { KubeWriter, type ObjectWriter } from '../runtime/writer.js';
import { SFT_LABELS } from '../../crds/sft-trainer.js';
import { sftJobInformers } from './cache.js';
import { SFTJobReconciler } from './reconciler.js';
import { PgSftStores, type SftStores } from './stores.js';
import type { TrainerSettings } from './trainer.js';

export const CONTROLLER_NAME = 'sft-job';
export const OWNER_TYPE = { apiVersion: API_VERSION, kind: 'SFTJob' } as const;
export const EVENT_SOURCE = 'hearth-sft-job-controller';

export interface SFTJobSettings {
  trainer: TrainerSettings;
  /** Where datasets, trainer files and models live (as the REST API keeps them). */
  artifacts: ArtifactStore;
  /** Only this namespace (tests on a shared cluster); unset: all. */
  namespace?: string;
  pollMs?: number;
  reportGraceMs?: number;
  quotaRetryMs?: number;
  /** A new job's checks longer than this write VALIDATING (reconciler.ts; 0: always written). */
  validatingAfterMs?: number;
  /** A placed run's pods not running this long after its Job was made write PENDING (reconciler.ts; 0: at once). */
  pendingAfterMs?: number;
  /**
   * Concurrent reconciles (default 64: a pass is a few API and database calls and little CPU, so a
   * burst of new jobs waits on the API server, not for a free worker; bench:sft, README).
   */
  workers?: number;
}

export const DEFAULT_WORKERS = 64;

export interface SFTJobControllerOptions {
  clients: KubeClients;
  informers: InformerFactory;
  db: Db;
  clock: Clock;
  log: Logger;
  settings: SFTJobSettings;
  writer?: ObjectWriter;
  stores?: SftStores;
}

/** The key of the SFTJob a trainer pod belongs to (its `hearth.dev/sft-job` label), if that job is ours. */
export function trainerPodOwner(pod: KubernetesObject, known: (key: string) => boolean): string[] {
  const name = pod.metadata?.labels?.[SFT_LABELS.job];
  if (!name || !pod.metadata?.namespace) return [];
  const key = keyOf(pod.metadata.namespace, name);
  return known(key) ? [key] : [];
}

export function sftJobController(o: SFTJobControllerOptions): Runnable {
  const { sftJobs, jobs, namespaces, pods, nodes } = sftJobInformers(o.informers, o.settings.namespace);
  const s = o.settings;
  const reconciler = new SFTJobReconciler({
    listers: { sftJobs, jobs, namespaces, pods, nodes },
    writer: o.writer ?? new KubeWriter(o.clients, { component: EVENT_SOURCE, now: () => o.clock.now() }),
    stores: o.stores ?? new PgSftStores(o.db, s.artifacts),
    trainer: s.trainer,
    clock: o.clock,
    ...(s.pollMs !== undefined ? { pollMs: s.pollMs } : {}),
    ...(s.reportGraceMs !== undefined ? { reportGraceMs: s.reportGraceMs } : {}),
    ...(s.quotaRetryMs !== undefined ? { quotaRetryMs: s.quotaRetryMs } : {}),
    ...(s.validatingAfterMs !== undefined ? { validatingAfterMs: s.validatingAfterMs } : {}),
    ...(s.pendingAfterMs !== undefined ? { pendingAfterMs: s.pendingAfterMs } : {}),
  });
  const asAny = <T extends KubernetesObject>(i: Informer<T>): Informer<KubernetesObject> => i as unknown as Informer<KubernetesObject>;
  const controller = new Controller({
    name: CONTROLLER_NAME,
    for: { informer: sftJobs, type: OWNER_TYPE, updates: generationChanged },
    owns: [asAny(jobs)],
    watches: [
      // A namespace's account label decides whether its jobs run, and for whom.
      { informer: asAny(namespaces), map: (ns) => sftJobs.list(ns.metadata?.name ?? '').map((j) => keyOf(j.metadata.namespace, j.metadata.name ?? '')) },
      // A trainer pod (owned by the Job, not the SFTJob) wakes its job: RUNNING when it runs.
      { informer: asAny(pods), map: (pod) => trainerPodOwner(pod, (k) => sftJobs.get(k) !== undefined) },
    ],
    reconciler,
    workers: s.workers ?? DEFAULT_WORKERS,
    resyncMs: 10 * 60_000,
    clock: o.clock,
    log: o.log,
  });
  return { name: CONTROLLER_NAME, start: () => controller.start(), stop: (timeoutMs?: number) => controller.stop(timeoutMs) };
}
