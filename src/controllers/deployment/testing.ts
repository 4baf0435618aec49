// Fixtures shared by this folder's tests: hearth.dev Deployments as the reconciler sees them, i.e.
// parsed by the CRD schema (defaults applied) and carrying the metadata the API server sets.
import { DeploymentSpec, type Deployment, type DeploymentSpecInput } from '../../crds/deployment.js';

export const UID = '0b5c6a1e-0000-4000-8000-000000000001';
export const LLAMA_8B = 'accounts/fireworks/models/llama-v3p1-8b-instruct';

/** A spec as the schema outputs it (defaults applied, rules checked). */
export function spec(over: Partial<DeploymentSpecInput> = {}): DeploymentSpec {
  return DeploymentSpec.parse({ baseModel: LLAMA_8B, ...over });
}

/**
 * A spec that skips the schema's cross-field rules, for checks the runtime repeats on purpose
 * (objects written before a rule existed, or a CRD installed without its CEL rules).
 */
export function uncheckedSpec(over: Partial<DeploymentSpec>): DeploymentSpec {
  return { ...spec(), ...over };
}

export function hearthDeployment(
  specOver: Partial<DeploymentSpecInput> = {},
  meta: { name?: string; namespace?: string; uid?: string } = {},
): Deployment {
  return {
    apiVersion: 'hearth.dev/v1alpha1',
    kind: 'Deployment',
    metadata: { name: 'chat', namespace: 'acct-acme', uid: UID, ...meta },
    spec: spec(specOver),
  };
}
