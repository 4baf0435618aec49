// The ClusterIP Service in front of a hearth.dev Deployment's model-server pods.
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
      selector: selectorLabels(dep),
      ports: [{ name: PORT_NAME, port: SERVICE_PORT, targetPort: PORT_NAME, protocol: 'TCP', appProtocol: 'http' }],
    },
  };
}
