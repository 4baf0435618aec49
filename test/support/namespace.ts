import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { waitFor } from './wait.js';

/**
 * Creates a namespace and waits until pods can be created in it: the ServiceAccount admission
 * plugin rejects pods until kube-controller-manager has made the `default` ServiceAccount, which
 * on a freshly started cluster can take a few seconds.
 */
export async function createTestNamespace(kc: KubeConfig, name: string, labels: Record<string, string> = {}): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name, labels } } });
  await waitFor(`the default ServiceAccount of namespace ${name}`, async () => {
    await core.readNamespacedServiceAccount({ namespace: name, name: 'default' });
    return true;
  });
}
