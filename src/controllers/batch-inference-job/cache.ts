// The informers the BatchInferenceJob controller reads, from the process's shared cache: the jobs,
// the hearth.dev Deployments (does one serve the model? the one we created), and the namespaces
// (the account label). The Deployment controller reads the same Deployments and namespaces.
import type { V1Namespace } from '@kubernetes/client-node';
import type { Deployment } from '../../crds/deployment.js';
import { BATCH_INFERENCE_JOB, DEPLOYMENT } from '../../crds/registry.js';
import type { Informer } from '../../kube/informer.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import { namespacesInformer } from '../runtime/projections.js';
import type { HearthObject } from '../runtime/writer.js';

export interface BatchInferenceJobInformers {
  jobs: Informer<HearthObject<'BatchInferenceJob'>>;
  deployments: Informer<Deployment>;
  namespaces: Informer<V1Namespace>;
}

export function batchInferenceJobInformers(f: InformerFactory): BatchInferenceJobInformers {
  const j = BATCH_INFERENCE_JOB;
  const d = DEPLOYMENT;
  return {
    jobs: f.informer<HearthObject<'BatchInferenceJob'>>({ group: j.group, version: j.version, plural: j.plural }),
    deployments: f.informer<Deployment>({ group: d.group, version: d.version, plural: d.plural }),
    namespaces: namespacesInformer(f),
  };
}
