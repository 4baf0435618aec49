// The informers the Environment controller reads, from the process's shared cache: Environments,
// NodePools (does the pool exist, is it being deleted, its accelerator), every pod (the shared,
// projected pod watch: ours carry their annotations, see runtime/projections.ts) and namespaces
// (the account label).
import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import { ENVIRONMENT, NODE_POOL } from '../../crds/registry.js';
import type { Informer } from '../../kube/informer.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import { namespacesInformer, podsInformer } from '../runtime/projections.js';
import type { HearthObject } from '../runtime/writer.js';

export interface EnvironmentInformers {
  environments: Informer<HearthObject<'Environment'>>;
  nodePools: Informer<HearthObject<'NodePool'>>;
  pods: Informer<V1Pod>;
  namespaces: Informer<V1Namespace>;
}

/** `namespace`: only that namespace's Environments and NodePools (tests sharing a cluster); default all. */
export function environmentInformers(f: InformerFactory, namespace?: string): EnvironmentInformers {
  const ref = (k: { group: string; version: string; plural: string }) => ({ group: k.group, version: k.version, plural: k.plural, ...(namespace ? { namespace } : {}) });
  return {
    environments: f.informer<HearthObject<'Environment'>>(ref(ENVIRONMENT)),
    nodePools: f.informer<HearthObject<'NodePool'>>(ref(NODE_POOL)),
    pods: podsInformer(f),
    namespaces: namespacesInformer(f),
  };
}
