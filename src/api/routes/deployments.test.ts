// The deployments routes' fast paths: create asks the API server whether an id exists only when the
// caller chose it; the wire view of an unchanged cached object is reused (a GET's hot path), while
// a newer object from the watch — or any change of resourceVersion — must show at once. The client is
// the real ResourceCache behind an in-memory KindClient (no cluster in unit tests; the watch,
// writes and the rest are covered by test/integration/api-deployments.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { openDatabase, type Database } from '../../db/client.js';
import { buildApp } from '../app.js';
import { bootstrap } from '../../auth/bootstrap.js';
import { ResourceCache, type DeploymentClient } from '../kube/kind-client.js';
import type { DeploymentObject } from '../mappers/deployment.js';

class MemoryDeploymentClient implements DeploymentClient {
  readonly cache = new ResourceCache<DeploymentObject>();
  /** Objects only the "API server" has (not in the cache yet), and the reads that asked it. */
  readonly server = new Map<string, DeploymentObject>();
  reads = 0;
  #rv = 100;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  list(ns: string): DeploymentObject[] {
    return this.cache.list(ns);
  }
  async get(ns: string, name: string): Promise<DeploymentObject | undefined> {
    return this.cache.get(ns, name) ?? this.read(ns, name);
  }
  async read(ns: string, name: string): Promise<DeploymentObject | undefined> {
    this.reads++;
    return this.server.get(`${ns}/${name}`) ?? this.cache.get(ns, name);
  }
  async create(obj: DeploymentObject): Promise<DeploymentObject> {
    const made = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.#rv), creationTimestamp: '2026-01-02T00:00:00Z' } };
    this.cache.upsert(made);
    return made;
  }
  async replace(): Promise<DeploymentObject> {
    throw new Error('not used');
  }
  async mergePatch(): Promise<DeploymentObject> {
    throw new Error('not used');
  }
  async delete(): Promise<boolean> {
    throw new Error('not used');
  }
}

const object = (rv: string, displayName: string, state?: string): DeploymentObject =>
  ({
    apiVersion: 'hearth.dev/v1alpha1',
    kind: 'Deployment',
    metadata: { name: 'd1', namespace: 'acct-acme', resourceVersion: rv, generation: 1, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { baseModel: 'accounts/fireworks/models/m', displayName, autoscalingPolicy: { scaleUpWindow: '30s', scaleToZeroWindow: '1h' } },
    ...(state ? { status: { state, observedGeneration: 1 } } : {}),
  }) as DeploymentObject;

let database: Database;
let app: FastifyInstance;
let key: string;
const client = new MemoryDeploymentClient();

async function get(url: string): Promise<Record<string, unknown>> {
  const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
  expect(res.statusCode, res.body).toBe(200);
  return JSON.parse(res.body) as Record<string, unknown>;
}

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  key = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
  app = await buildApp({ db: database.db, deployments: client, rateLimit: false });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await database?.close();
});

describe('create', () => {
  const post = (query: string) =>
    app.inject({ method: 'POST', url: `/v1/accounts/acme/deployments${query}`, headers: { authorization: `Bearer ${key}` }, payload: { baseModel: 'accounts/fireworks/models/m' } });

  it('asks the API server whether a caller-chosen id exists (it may not be in the cache yet), and answers 409 if it does', async () => {
    client.server.set('acct-acme/taken', object('5', 'elsewhere'));
    const before = client.reads;
    const r = await post('?deploymentId=taken');
    expect(r.statusCode, r.body).toBe(409);
    expect(client.reads).toBe(before + 1);
    const ok = await post('?deploymentId=fresh');
    expect(ok.statusCode, ok.body).toBe(200);
    expect(client.reads).toBe(before + 2);
  });

  it('does not ask the API server about a random id it made', async () => {
    const before = client.reads;
    const r = await post('');
    expect(r.statusCode, r.body).toBe(200);
    expect((JSON.parse(r.body) as { name: string }).name).toMatch(/^accounts\/acme\/deployments\/[a-z][a-z0-9]{11}$/);
    expect(client.reads).toBe(before);
  });
});

describe('wire views of cached deployments', () => {
  it('serves an unchanged object the same, and a newer one from the watch at once (get and list)', async () => {
    client.cache.upsert(object('10', 'first'));
    const a = await get('/v1/accounts/acme/deployments/d1');
    expect(a).toMatchObject({ name: 'accounts/acme/deployments/d1', displayName: 'first', state: 'CREATING', autoscalingPolicy: { scaleUpWindow: '30s', scaleToZeroWindow: '3600s' } });
    expect(await get('/v1/accounts/acme/deployments/d1')).toEqual(a);

    client.cache.upsert(object('11', 'second', 'READY'));
    expect(await get('/v1/accounts/acme/deployments/d1')).toMatchObject({ displayName: 'second', state: 'READY' });
    const listed = (await get('/v1/accounts/acme/deployments')).deployments as { name: string }[];
    expect(listed.find((d) => d.name === 'accounts/acme/deployments/d1')).toMatchObject({ displayName: 'second', state: 'READY' });
  });

  it('maps again when an object changes in place with a new resourceVersion', async () => {
    const obj = object('20', 'before');
    client.cache.upsert(obj);
    expect(await get('/v1/accounts/acme/deployments/d1')).toMatchObject({ displayName: 'before' });
    obj.spec.displayName = 'after';
    obj.metadata.resourceVersion = '21';
    expect(await get('/v1/accounts/acme/deployments/d1')).toMatchObject({ displayName: 'after' });
  });

  it('a readMask or filter never changes the view other requests get', async () => {
    client.cache.upsert(object('30', 'masked'));
    expect(await get('/v1/accounts/acme/deployments/d1?readMask=name')).toEqual({ name: 'accounts/acme/deployments/d1' });
    expect(await get('/v1/accounts/acme/deployments?filter=displayName%20%3D%20%22nope%22')).toMatchObject({ totalSize: 0 });
    expect(await get('/v1/accounts/acme/deployments/d1')).toMatchObject({ displayName: 'masked', autoscalingPolicy: { scaleUpWindow: '30s' } });
  });
});
