// Fixtures shared by this folder's tests.
import type { HearthDeployment, DeploymentSpecInput } from './types.js';

export function hearthDeployment(
  spec: Partial<DeploymentSpecInput> = {},
  meta: Partial<HearthDeployment['metadata']> = {},
): HearthDeployment {
  return {
    apiVersion: 'hearth.dev/v1alpha1',
    kind: 'Deployment',
    metadata: { name: 'chat', namespace: 'acct-acme', uid: '0b5c6a1e-0000-4000-8000-000000000001', ...meta },
    spec: { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', ...spec },
  };
}
