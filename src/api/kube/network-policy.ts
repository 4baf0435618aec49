// Model-server isolation (issue 15 item 6): ONE NetworkPolicy per account namespace, made with the
// namespace (namespaces.ts), selecting every model-server pod Hearth runs there by label and
// admitting ingress only from Hearth's own pods (the gateway for inference, the controller for the
// adapter API) — never from the account's other pods, other accounts' namespaces or the internet.
// One object per namespace, not per Deployment: the per-deployment write budget (issue 11) is not
// spent on it, and it covers replicas of Deployments made later.
import type { V1NetworkPolicy, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import { LABELS, MANAGED_BY } from '../../crds/group.js';

export const MODEL_SERVER_POLICY_NAME = 'hearth-model-servers';
/** `app.kubernetes.io/name` of model-server pods (controllers/deployment/children/labels.ts APP_NAME). */
const MODEL_SERVER_APP = 'model-server';
/** On every pod of the chart's Deployments (gateway, controller, api). */
const PART_OF_HEARTH = { 'app.kubernetes.io/part-of': 'hearth' } as const;

/**
 * Who may reach model servers when nothing is configured: pods that are part of Hearth in Hearth's
 * own namespace (POD_NAMESPACE; `hearth-system` when run outside a pod).
 */
export function defaultModelServerPeers(hearthNamespace: string | undefined): V1NetworkPolicyPeer[] {
  return [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': hearthNamespace ?? 'hearth-system' } }, podSelector: { matchLabels: { ...PART_OF_HEARTH } } }];
}

/** The policy of one account namespace. `from` must not be empty: an empty list would admit no one, which breaks routing. */
export function modelServerNetworkPolicy(namespace: string, from: V1NetworkPolicyPeer[]): V1NetworkPolicy {
  if (from.length === 0) throw new Error('modelServerNetworkPolicy: at least one peer (the gateway) must be admitted');
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: MODEL_SERVER_POLICY_NAME, namespace, labels: { [LABELS.managedBy]: MANAGED_BY } },
    spec: {
      podSelector: { matchLabels: { [LABELS.managedBy]: MANAGED_BY, 'app.kubernetes.io/name': MODEL_SERVER_APP } },
      policyTypes: ['Ingress'],
      ingress: [{ _from: from }],
    },
  };
}
