// The gateway dials only pod addresses of EndpointSlices owned by Hearth's Services (issue 15 item 9).
import { describe, expect, it } from 'vitest';
import { EndpointGuard, forbiddenAddress, isHearthService, type ServiceLike } from './endpoint-guard.js';
import { Upstreams, type EndpointSliceLike } from './upstreams.js';

const NS = 'acct-acme';
const DEP_OWNER = { apiVersion: 'hearth.dev/v1alpha1', kind: 'Deployment', name: 'chat', uid: 'dep-uid', controller: true };

function service(over: Partial<NonNullable<ServiceLike['metadata']>> = {}): ServiceLike {
  return {
    metadata: {
      name: 'chat',
      namespace: NS,
      uid: 'svc-uid',
      labels: { 'app.kubernetes.io/managed-by': 'hearth', 'hearth.dev/deployment': 'chat' },
      ownerReferences: [DEP_OWNER],
      ...over,
    },
  };
}

function slice(addresses: string[], owner: Record<string, unknown> | null = { apiVersion: 'v1', kind: 'Service', name: 'chat', uid: 'svc-uid', controller: true }, name = 'chat-abc'): EndpointSliceLike {
  return {
    metadata: { name, namespace: NS, labels: { 'hearth.dev/deployment': 'chat', 'kubernetes.io/service-name': 'chat' }, ...(owner ? { ownerReferences: [owner] } : {}) } as EndpointSliceLike['metadata'],
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8000 }],
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
  };
}

function setup() {
  const upstreams = new Upstreams();
  const warnings: string[] = [];
  const guard = new EndpointGuard(upstreams, { warn: (_o: unknown, msg?: string) => void warnings.push(msg ?? '') } as never);
  const ids = () => upstreams.endpoints(`${NS}/chat`).map((e) => e.id);
  return { upstreams, guard, warnings, ids };
}

describe('forbiddenAddress', () => {
  it.each([
    ['127.0.0.1'],
    ['127.9.9.9'],
    ['::1'],
    ['169.254.169.254'],
    ['169.254.1.1'],
    ['fe80::1'],
    ['FE80::abcd'],
    ['fd00:ec2::254'],
    ['100.100.100.200'],
    ['0.0.0.0'],
    ['::'],
    ['::ffff:127.0.0.1'],
    ['::ffff:169.254.169.254'],
    ['224.0.0.1'],
    ['ff02::1'],
    ['255.255.255.255'],
    ['localhost'],
    ['metadata.google.internal'],
    [''],
  ])('refuses %s', (a) => expect(forbiddenAddress(a)).toBeDefined());

  it.each([['10.244.1.7'], ['192.168.3.4'], ['172.16.0.9'], ['198.18.0.10'], ['fd12:3456::7'], ['2001:db8::1']])('admits the pod address %s', (a) =>
    expect(forbiddenAddress(a)).toBeUndefined(),
  );
});

describe('isHearthService', () => {
  it('needs managed-by hearth, a deployment label and a hearth.dev Deployment as controller', () => {
    expect(isHearthService(service())).toBe(true);
    expect(isHearthService(service({ labels: { 'hearth.dev/deployment': 'chat' } }))).toBe(false);
    expect(isHearthService(service({ ownerReferences: [] }))).toBe(false);
    expect(isHearthService(service({ ownerReferences: [{ ...DEP_OWNER, apiVersion: 'apps/v1' }] }))).toBe(false);
    expect(isHearthService(service({ ownerReferences: [{ ...DEP_OWNER, controller: false }] }))).toBe(false);
  });
});

describe('EndpointGuard', () => {
  it('admits the slices of a Hearth Service, whichever arrives first; a second pass changes nothing', () => {
    const { guard, ids } = setup();
    guard.upsertSlice(slice(['10.0.0.1']));
    expect(ids()).toEqual([]); // the Service is not known yet
    guard.upsertService(service());
    expect(ids()).toEqual(['10.0.0.1:8000']);
    guard.upsertService(service());
    guard.upsertSlice(slice(['10.0.0.1']));
    expect(ids()).toEqual(['10.0.0.1:8000']);
    guard.deleteService(service());
    expect(ids()).toEqual([]);
  });

  it('refuses a slice no Hearth Service owns: none, a foreign uid, another kind, a Service of another deployment, an unlabelled Service', () => {
    const { guard, ids, warnings } = setup();
    guard.upsertService(service());
    guard.upsertService(service({ name: 'other', uid: 'other-uid', labels: { 'app.kubernetes.io/managed-by': 'hearth', 'hearth.dev/deployment': 'other' } }));
    guard.upsertService(service({ name: 'plain', uid: 'plain-uid', labels: { 'hearth.dev/deployment': 'chat' } }));
    guard.upsertSlice(slice(['10.0.0.1'], null, 's1'));
    guard.upsertSlice(slice(['10.0.0.2'], { apiVersion: 'v1', kind: 'Service', name: 'chat', uid: 'forged-uid', controller: true }, 's2'));
    guard.upsertSlice(slice(['10.0.0.3'], { apiVersion: 'apps/v1', kind: 'Deployment', name: 'chat', uid: 'svc-uid', controller: true }, 's3'));
    guard.upsertSlice(slice(['10.0.0.4'], { apiVersion: 'v1', kind: 'Service', name: 'other', uid: 'other-uid', controller: true }, 's4'));
    guard.upsertSlice(slice(['10.0.0.5'], { apiVersion: 'v1', kind: 'Service', name: 'plain', uid: 'plain-uid', controller: true }, 's5'));
    guard.upsertSlice(slice(['10.0.0.6'], { apiVersion: 'v1', kind: 'Service', name: 'chat', uid: 'svc-uid', controller: false }, 's6'));
    expect(ids()).toEqual([]);
    expect(warnings.length).toBe(6);
  });

  it('drops loopback, link-local and metadata addresses from an owned slice (before any simulation dial map)', () => {
    const { guard, ids, warnings } = setup();
    guard.upsertService(service());
    guard.upsertSlice(slice(['10.0.0.1', '127.0.0.1', '169.254.169.254', '0.0.0.0', '::ffff:127.0.0.1']));
    expect(ids()).toEqual(['10.0.0.1:8000']);
    expect(warnings).toHaveLength(1);
  });

  it('a Service losing its Hearth labels takes its slices out of routing', () => {
    const { guard, ids } = setup();
    guard.upsertService(service());
    guard.upsertSlice(slice(['10.0.0.1']));
    expect(ids()).toHaveLength(1);
    guard.upsertService(service({ labels: { 'hearth.dev/deployment': 'chat' } }));
    expect(ids()).toEqual([]);
  });
});
