// The namespace seal of tests that stand in for Hearth's processes (src/crds/account.ts): the API
// they build seals with it, the informer factories they build verify with it, and
// createTestNamespace seals the account namespaces it makes with it (unless asked not to).
// Tests that run Hearth as real processes (`src/main.ts <mode>`) make it the installation's seal in
// the processes' database first (installTestSeal), so both sides seal and verify alike.
import { NamespaceSeal } from '../../src/crds/account.js';
import type { Db } from '../../src/db/client.js';
import { SECRET_NAMES } from '../../src/db/repositories/installation-secrets.js';
import { installationSecrets } from '../../src/db/schema/index.js';

const TEST_SEAL_SECRET = 'hearth tests: the namespace seal';

export const TEST_SEAL = new NamespaceSeal(TEST_SEAL_SECRET);

/** Makes TEST_SEAL the installation's tenancy secret in `db` (before any Hearth process made one). */
export async function installTestSeal(db: Db): Promise<void> {
  const secret = Buffer.from(TEST_SEAL_SECRET, 'utf8').toString('base64url');
  await db.insert(installationSecrets).values({ name: SECRET_NAMES.tenancy, secret }).onConflictDoUpdate({ target: installationSecrets.name, set: { secret } });
}
