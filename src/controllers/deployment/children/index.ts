// Pure builders of a hearth.dev Deployment's children (Knative's `resources/` package; here
// "resources" means Kubernetes resources only, so the folder is children/).
export * as names from './names.js';
export * from './labels.js';
export { controllerOf, isControlledBy, ownerReference, type Owner } from '../../runtime/owner-refs.js';
export { gpuTolerations, makeWorkload, podTemplate, probes, type WorkloadOptions } from './workload.js';
export { makeService, SERVICE_PORT } from './service.js';
export { hashOf, stableStringify } from './hash.js';
