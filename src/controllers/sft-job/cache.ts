// The informers the SFTJob controller reads, from the process's shared cache: the SFTJobs, the
// batch/v1 Jobs Hearth made for them (label `hearth.dev/sft-job`), the namespaces (the account
// label), and the pods and GPU nodes every controller shares (the trainer's pods by their labels;
// free GPUs for placement).
import type { V1Job, V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import { SFT_JOB } from '../../crds/registry.js';
import { SFT_LABELS } from '../../crds/sft-trainer.js';
import type { Informer } from '../../kube/informer.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import { gpuNodesInformer, namespacesInformer, podsInformer } from '../runtime/projections.js';
import type { HearthObject } from '../runtime/writer.js';

export interface SFTJobInformers {
  sftJobs: Informer<HearthObject<'SFTJob'>>;
  jobs: Informer<V1Job>;
  namespaces: Informer<V1Namespace>;
  pods: Informer<V1Pod>;
  nodes: Informer<V1Node>;
}

export function sftJobInformers(f: InformerFactory, namespace?: string): SFTJobInformers {
  const k = SFT_JOB;
  const ns = namespace ? { namespace } : {};
  return {
    sftJobs: f.informer<HearthObject<'SFTJob'>>({ group: k.group, version: k.version, plural: k.plural, ...ns }),
    jobs: f.informer<V1Job>({ group: 'batch', version: 'v1', plural: 'jobs', labelSelector: SFT_LABELS.job, ...ns }),
    namespaces: namespacesInformer(f),
    pods: podsInformer(f),
    nodes: gpuNodesInformer(f),
  };
}
