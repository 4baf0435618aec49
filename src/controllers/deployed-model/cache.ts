// The informers the DeployedModel controller reads, from the process's shared cache. In mode `all`
// every one of them is a watch another reader already holds: DeployedModels and Deployments (the
// gateway, the REST stores), Hearth's EndpointSlices (the gateway: the same selector, the same
// ready-replica rule in src/kube/endpoint-slices.ts), Namespaces (the account label).
import type { KubernetesObject, V1Namespace } from '@kubernetes/client-node';
import type { DeployedModel } from '../../crds/deployed-model.js';
import type { Deployment } from '../../crds/deployment.js';
import { DEPLOYED_MODEL, DEPLOYMENT } from '../../crds/registry.js';
import { HEARTH_ENDPOINT_SLICES, type EndpointSliceLike } from '../../kube/endpoint-slices.js';
import type { Informer } from '../../kube/informer.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import { namespacesInformer } from '../runtime/projections.js';

export interface DeployedModelInformers {
  deployedModels: Informer<DeployedModel>;
  deployments: Informer<Deployment>;
  endpointSlices: Informer<EndpointSliceLike & KubernetesObject>;
  namespaces: Informer<V1Namespace>;
}

/**
 * `namespace`: only that namespace's DeployedModels (tests sharing a cluster); default all.
 * `deploymentSelector`: the Deployment controller's HEARTH_CONTROLLER_SELECTOR — the same (shared)
 * watch, so this controller serves exactly the DeployedModels of the Deployments that one reconciles.
 */
export function deployedModelInformers(f: InformerFactory, namespace?: string, deploymentSelector?: string): DeployedModelInformers {
  const ref = (k: { group: string; version: string; plural: string }) => ({ group: k.group, version: k.version, plural: k.plural });
  return {
    deployedModels: f.informer<DeployedModel>({ ...ref(DEPLOYED_MODEL), ...(namespace ? { namespace } : {}) }),
    deployments: f.informer<Deployment>({ ...ref(DEPLOYMENT), ...(deploymentSelector ? { labelSelector: deploymentSelector } : {}) }),
    endpointSlices: f.informer<EndpointSliceLike & KubernetesObject>(HEARTH_ENDPOINT_SLICES),
    namespaces: namespacesInformer(f),
  };
}
