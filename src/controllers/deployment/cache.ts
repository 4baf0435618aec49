// The informers the Deployment controller reads, from the process's shared cache
// (src/kube/informer-factory.ts): one watch per collection whatever else in the process reads it,
// each with the one projection every reader of it shares (runtime/projections.ts). Asked for once
// at process start (controllers/manager.ts), so they list and watch before this replica leads.
import type { V1Deployment, V1Namespace, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import type { Deployment } from '../../crds/deployment.js';
import { DEPLOYMENT } from '../../crds/registry.js';
import type { Informer } from '../../kube/informer.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import { gpuNodesInformer, namespacesInformer, podsInformer, slimChild } from '../runtime/projections.js';

export interface DeploymentInformers {
  /** hearth.dev Deployments (those matching the selector), whole less managedFields. */
  deployments: Informer<Deployment>;
  /**
   * apps/v1 Deployments and Services: all of them, so a child name taken by an object we do not
   * own is seen and reported, not fought over (slimChild keeps of those only who controls them).
   */
  workloads: Informer<V1Deployment>;
  services: Informer<V1Service>;
  /** Pods: ours for status, everyone's for free-GPU accounting. */
  pods: Informer<V1Pod>;
  nodes: Informer<V1Node>;
  /** The account label. */
  namespaces: Informer<V1Namespace>;
}

/**
 * The Deployment controller's informers. `selector` (HEARTH_CONTROLLER_SELECTOR) keeps it to the
 * hearth.dev Deployments it matches (sharding, tests sharing a cluster); default all.
 */
export function deploymentInformers(informers: InformerFactory, selector?: string): DeploymentInformers {
  const k = DEPLOYMENT;
  return {
    deployments: informers.informer<Deployment>({ group: k.group, version: k.version, plural: k.plural, ...(selector ? { labelSelector: selector } : {}) }),
    workloads: informers.informer<V1Deployment>({ group: 'apps', version: 'v1', plural: 'deployments' }, { transform: slimChild }),
    services: informers.informer<V1Service>({ group: '', version: 'v1', plural: 'services' }, { transform: slimChild }),
    pods: podsInformer(informers),
    nodes: gpuNodesInformer(informers),
    namespaces: namespacesInformer(informers),
  };
}
