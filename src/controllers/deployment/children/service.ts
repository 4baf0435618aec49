// The headless Service in front of a hearth.dev Deployment's model-server pods.
//
// Headless (clusterIP: None): the gateway dials the ready pods it reads from this Service's
// EndpointSlices and balances over them itself (adapter-aware), so a virtual IP would go unused.
// Without one, a deployment takes no address from the cluster's service range (a /24 range holds
// only ~250 ClusterIP Services), its create allocates nothing (the Service create was the slowest
// write of a first pass: ~0.38 s mean at N=1,000 against ~0.05 s for the Deployment, its ClusterIP
// and IPAddress allocated with it), and kube-proxy programs no rules for it. In-cluster clients
// that use the DNS name still reach the ready pods (the name resolves to their addresses).
// Services made before this change keep their ClusterIP (it is immutable; the reconciler keeps it).
import type { V1Service } from '@kubernetes/client-node';
import { childLabels, selectorLabels } from './labels.js';
import * as names from './names.js';
import { ownerReference, type Owner } from '../../runtime/owner-refs.js';
import { PORT_NAME } from './workload.js';

export const SERVICE_PORT = 80;

/**
 * Port 80 → the pods' named `http` port (8000 for the default vLLM runtimes). Targeting the name,
 * not the number, keeps the Service right when an operator configures a runtime on another port.
 */
export function makeService(dep: Owner): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: names.service(dep),
      namespace: dep.metadata.namespace,
      labels: childLabels(dep),
      ownerReferences: [ownerReference(dep)],
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: 'None',
      selector: selectorLabels(dep),
      ports: [{ name: PORT_NAME, port: SERVICE_PORT, targetPort: PORT_NAME, protocol: 'TCP', appProtocol: 'http' }],
    },
  };
}
