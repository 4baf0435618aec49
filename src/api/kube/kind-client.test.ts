import type { KubernetesObject } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeClients } from '../../kube/client.js';
import { InformerFactory } from '../../kube/informer-factory.js';
import { FakeListWatch, silentLogger } from '../../kube/testing.js';
import { FakeClock } from '../../util/fake-clock.js';
import type { DeploymentObject } from '../mappers/deployment.js';
import { KubeDeploymentClient, ResourceCache, type KubeKindClient } from './kind-client.js';

const o = (name: string, rv: string, ns = 'acct-a'): DeploymentObject => ({ apiVersion: 'hearth.dev/v1alpha1', kind: 'Deployment', metadata: { name, namespace: ns, resourceVersion: rv }, spec: { baseModel: rv } });

describe('ResourceCache', () => {
  it('never lets an older resourceVersion replace a newer one (a watch event trailing a write)', () => {
    const c = new ResourceCache<DeploymentObject>();
    c.upsert(o('d', '11'));
    c.upsert(o('d', '10'));
    expect(c.get('acct-a', 'd')?.spec.baseModel).toBe('11');
    c.upsert(o('d', '12'));
    expect(c.get('acct-a', 'd')?.spec.baseModel).toBe('12');
  });

  it('does not resurrect a deleted object from a stale event, but takes a re-created one', () => {
    const c = new ResourceCache<DeploymentObject>();
    c.upsert(o('d', '5'));
    c.remove(o('d', '6'));
    c.upsert(o('d', '5'));
    expect(c.get('acct-a', 'd')).toBeUndefined();
    c.upsert(o('d', '9'));
    expect(c.get('acct-a', 'd')?.spec.baseModel).toBe('9');
  });

  it('lists by namespace', () => {
    const c = new ResourceCache<DeploymentObject>();
    c.upsert(o('a', '1'));
    c.upsert(o('b', '2'));
    c.upsert(o('c', '3', 'acct-b'));
    expect(c.list('acct-a').map((x) => x.metadata.name).sort()).toEqual(['a', 'b']);
    expect(c.size).toBe(3);
  });
});

// ---- KubeKindClient on a shared informer (fake list/watch, fake API server) ----------------

interface FakeApi {
  objects: Map<string, DeploymentObject>;
  rv: number;
  calls: string[];
}

/** The API server half of CustomObjectsApi the client uses: answers as the server would. */
function fakeCustomObjects(api: FakeApi): unknown {
  const key = (ns: string, name: string): string => `${ns}/${name}`;
  const stamp = (o: DeploymentObject): DeploymentObject => {
    const out = structuredClone(o);
    out.metadata.resourceVersion = String(++api.rv);
    out.metadata.managedFields = [{ manager: 'hearth-api' }];
    api.objects.set(key(out.metadata.namespace ?? '', out.metadata.name), out);
    return structuredClone(out);
  };
  const notFound = (): Error => Object.assign(new Error('not found'), { code: 404 });
  return {
    getNamespacedCustomObject: async (r: { namespace: string; name: string }) => {
      api.calls.push(`get ${r.namespace}/${r.name}`);
      const o = api.objects.get(key(r.namespace, r.name));
      if (!o) throw notFound();
      return structuredClone(o);
    },
    createNamespacedCustomObject: async (r: { body: DeploymentObject }) => stamp(r.body),
    replaceNamespacedCustomObject: async (r: { body: DeploymentObject }) => stamp(r.body),
    patchNamespacedCustomObject: async (r: { namespace: string; name: string; body: { spec: Partial<DeploymentObject['spec']> } }) => {
      const cur = api.objects.get(key(r.namespace, r.name));
      if (!cur) throw notFound();
      return stamp({ ...cur, spec: { ...cur.spec, ...r.body.spec } });
    },
    deleteNamespacedCustomObject: async (r: { namespace: string; name: string }) => {
      const cur = api.objects.get(key(r.namespace, r.name));
      if (!cur) throw notFound();
      api.objects.delete(key(r.namespace, r.name));
      return { ...cur, metadata: { ...cur.metadata, resourceVersion: String(++api.rv) } };
    },
  };
}

function clientSetup(items: DeploymentObject[] = []) {
  const clock = new FakeClock(1_000_000);
  const sources = new Map<string, FakeListWatch<KubernetesObject>>();
  const informers = new InformerFactory(undefined, {
    clock,
    log: silentLogger(),
    sourceFor: (ref) => {
      const s = new FakeListWatch<KubernetesObject>().nextList({ items: items as unknown as KubernetesObject[], resourceVersion: '10' });
      sources.set(ref.plural, s);
      return s;
    },
  });
  const api: FakeApi = { objects: new Map(items.map((i) => [`${i.metadata.namespace}/${i.metadata.name}`, i])), rv: 10, calls: [] };
  const clients = { api: () => fakeCustomObjects(api) } as unknown as KubeClients;
  const kube = { clients, informers };
  const client = new KubeDeploymentClient(kube, { log: silentLogger(), clock });
  kinds.push(client);
  const watch = () => sources.get('deployments')?.current;
  return { clock, informers, sources, api, kube, client, watch };
}
const kinds: KubeKindClient<DeploymentObject>[] = [];
afterEach(async () => {
  for (const s of kinds.splice(0)) await s.stop();
});

describe('KubeKindClient', () => {
  it('reads the shared informer: lists from its cache, with managedFields stripped as for every reader', async () => {
    const { client, informers } = clientSetup([{ ...o('a', '5'), metadata: { ...o('a', '5').metadata, managedFields: [{ manager: 'x' }] } }]);
    await client.start();
    expect(client.list('acct-a').map((x) => x.metadata.name)).toEqual(['a']);
    expect(client.list('acct-a')[0]?.metadata.managedFields).toBeUndefined();
    expect(informers.size).toBe(1);
  });

  it('shows its own writes at once, and an older watch event never replaces them', async () => {
    const { client, watch, api } = clientSetup([o('a', '5')]);
    await client.start();
    const created = await client.create(o('b', '0'));
    expect(created.metadata.resourceVersion).toBe('11');
    expect(client.list('acct-a').map((x) => x.metadata.name).sort()).toEqual(['a', 'b']);
    expect(client.list('acct-a').find((x) => x.metadata.name === 'b')?.metadata.managedFields).toBeUndefined();
    api.rv = 20; // others write meanwhile
    const patched = await client.mergePatch('acct-a', 'a', { spec: { baseModel: 'patched' } });
    watch()?.emit('MODIFIED', o('a', '15')); // someone's earlier write, arriving after ours
    expect((await client.get('acct-a', 'a'))?.spec.baseModel).toBe('patched');
    expect(api.calls).toEqual([]); // served from the view, not the API server
    watch()?.emit('MODIFIED', { ...patched, metadata: { ...patched.metadata } });
    expect((await client.get('acct-a', 'a'))?.spec.baseModel).toBe('patched');
  });

  it('hides what it deleted until the watch says so, and answers false for what was already gone', async () => {
    const { client, watch, api } = clientSetup([o('a', '5'), o('b', '6')]);
    await client.start();
    api.rv = 20;
    expect(await client.delete('acct-a', 'a')).toBe(true);
    expect(client.list('acct-a').map((x) => x.metadata.name)).toEqual(['b']);
    watch()?.emit('MODIFIED', o('a', '15')); // someone's update before the delete, seen after it
    expect(client.list('acct-a').map((x) => x.metadata.name)).toEqual(['b']);
    expect(await client.delete('acct-a', 'a')).toBe(false);
  });

  it('falls back to the API server on a miss (another replica just created it)', async () => {
    const { client, api } = clientSetup();
    await client.start();
    api.objects.set('acct-a/x', o('x', '20'));
    expect((await client.get('acct-a', 'x'))?.metadata.resourceVersion).toBe('20');
    expect(api.calls).toEqual(['get acct-a/x']);
    expect(client.list('acct-a').map((x) => x.metadata.name)).toEqual(['x']);
    expect(await client.get('acct-a', 'nope')).toBeUndefined();
  });

  it('shares one watch with every other reader of its kind, and its stop leaves them running', async () => {
    const { client, informers, kube, sources } = clientSetup([o('a', '5')]);
    const other = new KubeDeploymentClient(kube, { log: silentLogger() });
    kinds.push(other);
    await Promise.all([client.start(), other.start()]);
    expect(informers.size).toBe(1);
    expect(sources.get('deployments')?.listCalls).toBe(1);
    await client.stop();
    expect(other.list('acct-a')).toHaveLength(1);
  });

  it('start() gives up after syncTimeoutMs when the list never answers', async () => {
    const clock = new FakeClock(0);
    const informers = new InformerFactory(undefined, { clock, log: silentLogger(), sourceFor: () => new FakeListWatch<KubernetesObject>().nextList('hang') });
    const client = new KubeDeploymentClient({ clients: { api: () => ({}) } as unknown as KubeClients, informers }, { log: silentLogger(), clock, syncTimeoutMs: 5_000 });
    const started = client.start();
    const outcome = started.then(() => 'synced', (e: Error) => e.message);
    await clock.advanceAsync(5_001);
    expect(await outcome).toMatch(/could not list deployments\.hearth\.dev within 5000 ms/);
  });
});
