// KubeClients and KubeListWatch against a local HTTP stub (no cluster): the token bucket sits in
// front of every request, whatever client makes it, and the list pager follows `continue`.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from '../util/fake-clock.js';
import { KubeClients } from './client.js';
import { collectionPath, InformerCache, KubeListWatch } from './kube-source.js';
import { silentLogger } from './testing.js';

type Handler = (req: IncomingMessage, url: URL) => { status?: number; body: unknown };

let server: Server;
let hits: string[];
let handler: Handler;

beforeEach(async () => {
  hits = [];
  handler = () => ({ body: { kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] } });
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    hits.push(`${req.method} ${url.pathname}${url.search}`);
    onHit?.();
    const { status = 200, body } = handler(req, url);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});

afterEach(async () => {
  server.close();
  await once(server, 'close');
});

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  const { port } = server.address() as AddressInfo;
  kc.loadFromOptions({
    clusters: [{ name: 'stub', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'c', cluster: 'stub', user: 'u', namespace: 'team-a' }],
    currentContext: 'c',
  });
  return kc;
}

let onHit: (() => void) | undefined;

/** Waits for the stub to have seen `n` requests (an event, not a sleep; the test timeout bounds it). */
async function untilHits(n: number): Promise<void> {
  while (hits.length < n) await new Promise<void>((r) => (onHit = r));
}

describe('KubeClients', () => {
  it('lets `burst` requests through at once, then one per 1/qps, across client types', async () => {
    const list = { kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] };
    const discovery = { kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'configmaps', namespaced: true, kind: 'ConfigMap', verbs: ['list'] }] };
    handler = (_req, url) => ({ body: url.pathname === '/api/v1' ? discovery : list });
    const clock = new FakeClock();
    const clients = new KubeClients(kubeConfig(), { qps: 10, burst: 2 }, clock);
    const core = clients.api(CoreV1Api);
    const objects = clients.objects();
    const results = [
      core.listNamespacedConfigMap({ namespace: 'a' }),
      core.listNamespacedConfigMap({ namespace: 'b' }),
      core.listNamespacedConfigMap({ namespace: 'c' }),
      clients.getJSON('/api/v1/namespaces/d/configmaps'),
      objects.list('v1', 'ConfigMap', 'e'),
    ];
    await untilHits(2);
    await flushMicrotasks();
    // The other three wait for tokens on the (fake) clock: nothing else reached the server.
    expect(clock.pending()).toBe(3);
    expect(hits).toHaveLength(2);
    clock.advance(100);
    await untilHits(3);
    clock.advance(100);
    await untilHits(4);
    clock.advance(100);
    await untilHits(5);
    // The object client asks discovery for the resource, then lists: its list reserves a token
    // only once the discovery answer is in, so hand out time until it is through.
    while (hits.length < 6) {
      clock.advance(100);
      await Promise.race([untilHits(6), flushMicrotasks(20)]);
    }
    await Promise.all(results);
    // Order among them is the order of reservation, not of the calls (clients prepare auth first).
    expect(hits.filter((h) => h.includes('/configmaps')).slice(0, 4).sort()).toEqual([
      'GET /api/v1/namespaces/a/configmaps',
      'GET /api/v1/namespaces/b/configmaps',
      'GET /api/v1/namespaces/c/configmaps',
      'GET /api/v1/namespaces/d/configmaps',
    ]);
    expect(hits).toContain('GET /api/v1');
    expect(hits.at(-1)).toBe('GET /api/v1/namespaces/e/configmaps');
  });

  it('applies the kubeconfig credentials and turns error statuses into ApiException with the code', async () => {
    let auth: string | undefined;
    handler = (req) => {
      auth = req.headers.authorization;
      return { status: 404, body: { kind: 'Status', code: 404, reason: 'NotFound', message: 'configmaps "x" not found' } };
    };
    const clients = new KubeClients(kubeConfig(), {}, new FakeClock());
    const err = await clients.getJSON('/api/v1/namespaces/a/configmaps/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<unknown>).code).toBe(404);
    expect((err as Error).message).toContain('not found');
    expect(auth).toBe('Bearer secret-token');
  });
});

describe('KubeListWatch', () => {
  it('builds collection paths for core and grouped resources', () => {
    expect(collectionPath({ group: '', version: 'v1', plural: 'configmaps' })).toBe('/api/v1/configmaps');
    expect(collectionPath({ group: '', version: 'v1', plural: 'pods', namespace: 'ns' })).toBe('/api/v1/namespaces/ns/pods');
    expect(collectionPath({ group: 'hearth.dev', version: 'v1alpha1', plural: 'deployments' })).toBe('/apis/hearth.dev/v1alpha1/deployments');
  });

  it('lists page by page with the selector, each page projected as it arrives, raw objects in, with the last page resourceVersion', async () => {
    handler = (_req, url) => {
      const cont = url.searchParams.get('continue');
      if (!cont) return { body: { metadata: { resourceVersion: '7', continue: 'p2' }, items: [{ metadata: { name: 'a', creationTimestamp: '2026-01-01T00:00:00Z' } }] } };
      return { body: { metadata: { resourceVersion: '7' }, items: [{ metadata: { name: 'b' } }] } };
    };
    const clients = new KubeClients(kubeConfig(), { qps: 100, burst: 100 }, new FakeClock());
    const src = new KubeListWatch(clients, { group: '', version: 'v1', plural: 'configmaps', labelSelector: 'app=x' }, { pageSize: 1 });
    // The projection runs on each page before the next is fetched (requests made so far, per item).
    const projectedAfter: number[] = [];
    const list = await src.list((o) => (projectedAfter.push(hits.length), o));
    expect(projectedAfter).toEqual([1, 2]);
    expect(list.items.map((o) => o.metadata?.name)).toEqual(['a', 'b']);
    expect(list.items[0]?.metadata?.creationTimestamp).toBe('2026-01-01T00:00:00Z');
    expect(list.resourceVersion).toBe('7');
    expect(hits).toEqual(['GET /api/v1/configmaps?labelSelector=app%3Dx&limit=1', 'GET /api/v1/configmaps?labelSelector=app%3Dx&limit=1&continue=p2']);
    expect(src.description).toBe('/api/v1/configmaps?labelSelector=app=x');
  });

  it('falls back to one full list when a continue token has expired (410)', async () => {
    handler = (_req, url) => {
      if (url.searchParams.get('continue')) return { status: 410, body: { kind: 'Status', code: 410, reason: 'Expired' } };
      if (url.searchParams.get('limit')) return { body: { metadata: { resourceVersion: '5', continue: 'old' }, items: [{ metadata: { name: 'a' } }] } };
      return { body: { metadata: { resourceVersion: '9' }, items: [{ metadata: { name: 'a' } }, { metadata: { name: 'b' } }] } };
    };
    const clients = new KubeClients(kubeConfig(), { qps: 100, burst: 100 }, new FakeClock());
    const list = await new KubeListWatch(clients, { group: '', version: 'v1', plural: 'configmaps' }, { pageSize: 1 }).list((o) => o);
    expect(list.items.map((o) => o.metadata?.name)).toEqual(['a', 'b']);
    expect(list.resourceVersion).toBe('9');
    expect(hits).toHaveLength(3);
  });
});

describe('InformerCache', () => {
  it('shares one informer per distinct resource and selector', () => {
    const clock = new FakeClock();
    const cache = new InformerCache(new KubeClients(kubeConfig(), {}, clock), { clock, log: silentLogger() });
    const pods = { group: '', version: 'v1', plural: 'pods' };
    expect(cache.informer(pods)).toBe(cache.informer({ ...pods }));
    expect(cache.informer(pods)).not.toBe(cache.informer({ ...pods, labelSelector: 'a=b' }));
    expect(cache.informer(pods)).not.toBe(cache.informer({ ...pods, namespace: 'ns' }));
  });
});
