// The Environment controller's informers are watches the process holds anyway (mode `all`): the
// pods and namespaces of the Deployment controller, the Environments and NodePools of the REST
// facade's kind clients — same refs, same projections, so declaring them adds no list or watch.
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeKindClients } from '../../api/kube/kind-client.js';
import type { KubeClients } from '../../kube/client.js';
import { InformerFactory } from '../../kube/informer-factory.js';
import { FakeListWatch, silentLogger } from '../../kube/testing.js';
import { FakeClock } from '../../util/fake-clock.js';
import { deploymentInformers } from '../deployment/cache.js';
import { podsInformer } from '../runtime/projections.js';
import { environmentInformers } from './cache.js';
import { TEST_SEAL } from '../../../test/support/tenancy.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('environment informers', () => {
  it('add no watch to what the Deployment controller and the REST facade hold', async () => {
    const informers = new InformerFactory(undefined, {
      clock: new FakeClock(1_000_000),
      tenancy: TEST_SEAL,
      log: silentLogger(),
      sourceFor: () => new FakeListWatch<KubernetesObject>().nextList({ items: [], resourceVersion: '1' }),
    });
    cleanups.push(() => informers.stop());
    deploymentInformers(informers);
    const kinds = new KubeKindClients({ clients: { api: () => ({}) } as unknown as KubeClients, informers }, { log: silentLogger() });
    await kinds.start();
    cleanups.push(() => kinds.stop());
    const before = informers.size;
    const mine = environmentInformers(informers);
    expect(informers.size).toBe(before);
    expect(mine.pods).toBe(podsInformer(informers));
    expect(mine.environments).toBe(informers.informer({ group: 'hearth.dev', version: 'v1alpha1', plural: 'environments' }));
  });
});
