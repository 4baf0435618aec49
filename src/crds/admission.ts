// Admission policies that ship with the CRDs (manifests/admission/, the CRD chart), applied by the
// API server itself, in-process, with no webhook to run.
//
// `hearth-finalizer` (MutatingAdmissionPolicy, admissionregistration.k8s.io/v1, GA in Kubernetes
// 1.36): every hearth.dev Deployment is created with Hearth's finalizer already on it, so the
// controller does not spend a write (and a round trip before its first child) adding it: issue 11,
// ≤ 3 writes from create to READY. The controller still adds it when it is missing (a cluster
// without the policy, or a Deployment created before it was installed), so nothing depends on it.
import { FINALIZER, GROUP } from './group.js';

export const FINALIZER_POLICY = 'hearth-finalizer';

export function finalizerPolicy(): Record<string, unknown>[] {
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingAdmissionPolicy',
      metadata: { name: FINALIZER_POLICY },
      spec: {
        // The controller adds the finalizer itself when the policy could not: never block a create on it.
        failurePolicy: 'Ignore',
        reinvocationPolicy: 'Never',
        matchConstraints: {
          resourceRules: [{ apiGroups: [GROUP], apiVersions: ['*'], operations: ['CREATE'], resources: ['deployments'] }],
        },
        mutations: [
          {
            patchType: 'ApplyConfiguration',
            // metadata.finalizers is a set: the apply merges, an existing finalizer stays once.
            applyConfiguration: { expression: `Object{metadata: Object.metadata{finalizers: ["${FINALIZER}"]}}` },
          },
        ],
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingAdmissionPolicyBinding',
      metadata: { name: FINALIZER_POLICY },
      spec: { policyName: FINALIZER_POLICY },
    },
  ];
}
