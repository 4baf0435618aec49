import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { LABELS } from '../../src/crds/group.js';
import { TEST_SEAL } from './tenancy.js';
import { waitFor } from './wait.js';

/**
 * Creates a namespace and waits until pods can be created in it: the ServiceAccount admission
 * plugin rejects pods until kube-controller-manager has made the `default` ServiceAccount, which
 * on a freshly started cluster can take a few seconds. A namespace labelled with an account is
 * sealed for it as Hearth's API would (TEST_SEAL), unless `unsealed` (someone labelling by hand).
 */
export async function createTestNamespace(kc: KubeConfig, name: string, labels: Record<string, string> = {}, opts: { unsealed?: boolean } = {}): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const account = labels[LABELS.account];
  const annotations = account && !opts.unsealed ? TEST_SEAL.metadataFor(name, account).annotations : {};
  await core.createNamespace({ body: { metadata: { name, labels, annotations } } });
  await waitFor(`the default ServiceAccount of namespace ${name}`, async () => {
    await core.readNamespacedServiceAccount({ namespace: name, name: 'default' });
    return true;
  });
}
