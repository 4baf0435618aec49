// The namespace seal of tests that stand in for Hearth's processes (src/crds/account.ts): the API
// they build seals with it, the informer factories they build verify with it, and
// createTestNamespace seals the account namespaces it makes with it (unless asked not to).
import { NamespaceSeal } from '../../src/crds/account.js';

export const TEST_SEAL = new NamespaceSeal('hearth tests: the namespace seal');
