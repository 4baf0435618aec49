// The informers the BatchJob controller reads, from the process's shared cache: the BatchJobs, the
// Jobs it made (its own watch, by its label), every pod (the shared slimPod projection: labels,
// annotations of Hearth's pods, phase, container exit codes), the NodePools and Environments the
// jobs name, and the namespaces (the account label).
import type { V1Job, V1Namespace, V1Pod } from '@kubernetes/client-node';
import { BATCH_JOB, ENVIRONMENT, NODE_POOL } from '../../crds/registry.js';
import type { Informer } from '../../kube/informer.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import { namespacesInformer, podsInformer } from '../runtime/projections.js';
import type { HearthObject } from '../runtime/writer.js';
import { BATCH_JOB_LABELS } from './resources.js';

export interface BatchJobInformers {
  batchJobs: Informer<HearthObject<'BatchJob'>>;
  jobs: Informer<V1Job>;
  pods: Informer<V1Pod>;
  nodePools: Informer<HearthObject<'NodePool'>>;
  environments: Informer<HearthObject<'Environment'>>;
  namespaces: Informer<V1Namespace>;
}

/** `namespace`: only that namespace's BatchJobs and Jobs (tests sharing a cluster); default all. */
export function batchJobInformers(f: InformerFactory, namespace?: string): BatchJobInformers {
  const ref = (k: { group: string; version: string; plural: string }) => ({ group: k.group, version: k.version, plural: k.plural });
  return {
    batchJobs: f.informer<HearthObject<'BatchJob'>>({ ...ref(BATCH_JOB), ...(namespace ? { namespace } : {}) }),
    jobs: f.informer<V1Job>({ group: 'batch', version: 'v1', plural: 'jobs', labelSelector: BATCH_JOB_LABELS.batchJob, ...(namespace ? { namespace } : {}) }),
    pods: podsInformer(f),
    nodePools: f.informer<HearthObject<'NodePool'>>(ref(NODE_POOL)),
    environments: f.informer<HearthObject<'Environment'>>(ref(ENVIRONMENT)),
    namespaces: namespacesInformer(f),
  };
}
