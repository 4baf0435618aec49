// Mode `all` wiring on one InformerFactory: the controller's informers, the REST facade's kind clients
// and the gateway's sources. Every collection is listed and watched once for the whole process,
// whatever number of readers it has, and each reader still sees what it reads.
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeKindClients } from '../../src/api/kube/kind-client.js';
import { deploymentInformers } from '../../src/controllers/deployment/cache.js';
import { meteringInformers } from '../../src/controllers/metering/metering.js';
import { batchInferenceJobInformers } from '../../src/controllers/batch-inference-job/cache.js';
import { GROUP, LABELS, VERSION } from '../../src/crds/group.js';
import { BATCH_INFERENCE_JOB, BATCH_JOB, DEPLOYED_MODEL, DEPLOYMENT, ENVIRONMENT, NODE_POOL, SFT_JOB } from '../../src/crds/registry.js';
import { ACCELERATOR_LABEL } from '../../src/fleet/catalog.js';
import { Catalog } from '../../src/gateway/catalog.js';
import { startSources, type Sources } from '../../src/gateway/sources.js';
import { Upstreams } from '../../src/gateway/upstreams.js';
import type { KubeClients } from '../../src/kube/client.js';
import { InformerFactory, refKey } from '../../src/kube/informer-factory.js';
import type { ResourceRef } from '../../src/kube/kube-source.js';
import { FakeListWatch, silentLogger } from '../../src/kube/testing.js';
import { FakeClock } from '../../src/util/fake-clock.js';
import { TEST_SEAL } from '../support/tenancy.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function processWiring() {
  const sources = new Map<string, FakeListWatch<KubernetesObject>>();
  const asked = new Set<string>();
  const informers = new InformerFactory(undefined, {
    clock: new FakeClock(1_000_000),
    tenancy: TEST_SEAL,
    log: silentLogger(),
    sourceFor: (ref) => {
      const s = new FakeListWatch<KubernetesObject>().nextList({ items: [], resourceVersion: '100' });
      sources.set(refKey(ref), s);
      return s;
    },
  });
  const ask = (ref: ResourceRef, transform?: (o: never) => unknown): void => {
    asked.add(refKey(ref));
    informers.informer(ref, transform ? { transform: transform as (o: KubernetesObject) => KubernetesObject } : {});
  };
  cleanups.push(() => informers.stop());
  return { sources, asked, informers, ask };
}

describe('mode `all` on one informer factory', () => {
  it('watches each collection once for the controller, the REST stores and the gateway together', async () => {
    const { sources, asked, informers } = processWiring();
    // The controllers' real declarations (controllers/manager.ts asks for them at process start).
    deploymentInformers(informers);
    meteringInformers(informers);
    batchInferenceJobInformers(informers);
    const controllerRefs: ResourceRef[] = [
      { group: GROUP, version: VERSION, plural: 'batchinferencejobs' },
      { group: GROUP, version: VERSION, plural: 'deployments' },
      { group: 'apps', version: 'v1', plural: 'deployments' },
      { group: '', version: 'v1', plural: 'services' },
      { group: '', version: 'v1', plural: 'pods' },
      { group: '', version: 'v1', plural: 'nodes', labelSelector: ACCELERATOR_LABEL },
      { group: '', version: 'v1', plural: 'namespaces' },
    ];
    for (const ref of controllerRefs) asked.add(refKey(ref));
    expect(informers.size).toBe(controllerRefs.length);
    informers.start(); // the manager: caches warm for the process's life

    const kinds = new KubeKindClients({ clients: { api: () => ({}) } as unknown as KubeClients, informers }, { log: silentLogger() });
    await kinds.start();
    cleanups.push(() => kinds.stop());
    const catalog = new Catalog();
    const upstreams = new Upstreams();
    const gateway: Sources = startSources(informers, catalog, upstreams, silentLogger());
    cleanups.push(() => gateway.stop());
    await gateway.synced;
    expect(gateway.isSynced()).toBe(true);

    // The API's seven hearth.dev kinds and the gateway's five collections, as refs.
    for (const { plural } of [DEPLOYMENT, DEPLOYED_MODEL, NODE_POOL, ENVIRONMENT, BATCH_JOB, SFT_JOB, BATCH_INFERENCE_JOB]) asked.add(refKey({ group: GROUP, version: VERSION, plural }));
    asked.add(refKey({ group: '', version: 'v1', plural: 'namespaces' }));
    asked.add(refKey({ group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', labelSelector: 'hearth.dev/deployment' }));
    // Only Hearth's Services (the EndpointGuard's owners), not the controller's every-Service watch.
    asked.add(refKey({ group: '', version: 'v1', plural: 'services', labelSelector: 'app.kubernetes.io/managed-by=hearth,hearth.dev/deployment' }));

    // 7 for the controllers, 5 more hearth.dev kinds for the API, EndpointSlices and Hearth's Services for the gateway.
    expect(asked.size).toBe(14);
    expect(informers.size).toBe(asked.size);
    expect(new Set(sources.keys())).toEqual(asked);
    for (const s of sources.values()) {
      expect(s.listCalls).toBe(1);
      expect(s.watches).toHaveLength(1);
    }

    // One event on a shared watch reaches every reader.
    const ns = sources.get(refKey({ group: '', version: 'v1', plural: 'namespaces' }))!;
    const deployments = sources.get(refKey({ group: GROUP, version: VERSION, plural: 'deployments' }))!;
    ns.current?.emit('ADDED', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'acct-acme', resourceVersion: '101', ...TEST_SEAL.metadataFor('acct-acme', 'acme') } });
    // …and a namespace labelled acme by hand (no seal) is no namespace of acme's for any of them.
    ns.current?.emit('ADDED', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'claims-acme', resourceVersion: '103', labels: { [LABELS.account]: 'acme' } } });
    deployments.current?.emit('ADDED', {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'acct-acme', resourceVersion: '102', managedFields: [{ manager: 'hearth-api' }] },
      spec: { baseModel: 'accounts/fireworks/models/llama' },
    });
    expect(kinds.deployments.list('acct-acme').map((d) => d.metadata.name)).toEqual(['web']);
    expect(kinds.deployments.list('acct-acme')[0]?.metadata.managedFields).toBeUndefined();
    expect(catalog.deployment('acct-acme/web')).toMatchObject({ account: 'acme', baseModel: 'accounts/fireworks/models/llama' });
    expect(informers.informer({ group: GROUP, version: VERSION, plural: 'deployments' }).get('acct-acme/web')).toBeDefined();
    deployments.current?.emit('ADDED', { apiVersion: `${GROUP}/${VERSION}`, kind: 'Deployment', metadata: { name: 'evil', namespace: 'claims-acme', resourceVersion: '104' }, spec: { baseModel: 'accounts/fireworks/models/llama' } });
    expect(catalog.deployment('claims-acme/evil')).toBeUndefined();
    expect(informers.namespaces().get('claims-acme')?.metadata?.labels?.[LABELS.account]).toBeUndefined();
  });

  it('a reader that leaves (the gateway closing) keeps the shared watches running for the others', async () => {
    const { sources, informers } = processWiring();
    const kinds = new KubeKindClients({ clients: { api: () => ({}) } as unknown as KubeClients, informers }, { log: silentLogger() });
    await kinds.start();
    cleanups.push(() => kinds.stop());
    const gateway = startSources(informers, new Catalog(), new Upstreams(), silentLogger());
    await gateway.synced;
    await gateway.stop();
    const deployments = informers.informer({ group: GROUP, version: VERSION, plural: 'deployments' });
    expect(deployments.running).toBe(true);
    expect(deployments.hasSynced()).toBe(true);
    expect(sources.get(refKey({ group: GROUP, version: VERSION, plural: 'deployments' }))?.listCalls).toBe(1);
    // The gateway's own collections stop with it.
    expect(informers.namespaces().running).toBe(false);
  });
});
