// One model-server NetworkPolicy per account namespace, made with the namespace (issue 15 item 6).
import { CoreV1Api, NetworkingV1Api, type V1Namespace, type V1NetworkPolicy } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config.js';
import { NamespaceSeal } from '../../crds/account.js';
import type { ApiSource } from '../../kube/client.js';
import { ApiError } from '../wire/errors.js';
import { ensureAccountNamespace, namespaceOptions, NamespaceEnsurer } from './namespaces.js';
import { defaultModelServerPeers, MODEL_SERVER_POLICY_NAME, modelServerNetworkPolicy } from './network-policy.js';

const GATEWAY = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'hearth-system' } }, podSelector: { matchLabels: { 'app.kubernetes.io/component': 'gateway' } } }];

const SEAL = new NamespaceSeal('unit tests: namespace seal');

/** A fake API server for the calls: creates remembered, a second create of the same object 409. */
function fakeKube() {
  const objects = new Map<string, V1Namespace>();
  const namespaces: string[] = [];
  const policies: V1NetworkPolicy[] = [];
  const patches: unknown[] = [];
  const conflict = () => Object.assign(new Error('exists'), { code: 409 });
  const add = (ns: V1Namespace): void => {
    objects.set(ns.metadata!.name!, ns);
    namespaces.push(ns.metadata!.name!);
  };
  const core = {
    createNamespace: async ({ body }: { body: V1Namespace }) => {
      if (objects.has(body.metadata!.name!)) throw conflict();
      add(structuredClone(body));
    },
    readNamespace: async ({ name }: { name: string }) => structuredClone(objects.get(name)),
    patchNamespace: async ({ name, body }: { name: string; body: V1Namespace }) => {
      patches.push(body);
      const ns = objects.get(name)!;
      ns.metadata!.annotations = { ...ns.metadata!.annotations, ...body.metadata?.annotations };
    },
  };
  const net = {
    createNamespacedNetworkPolicy: async ({ namespace, body }: { namespace: string; body: V1NetworkPolicy }) => {
      if (policies.some((p) => p.metadata?.namespace === namespace && p.metadata.name === body.metadata?.name)) throw conflict();
      policies.push(body);
    },
  };
  const source = { api: (type: unknown) => (type === CoreV1Api ? core : type === NetworkingV1Api ? net : undefined) } as unknown as ApiSource;
  return { source, namespaces, policies, objects, patches, add };
}

describe('modelServerNetworkPolicy', () => {
  it("selects Hearth's model-server pods and admits ingress only from the given peers", () => {
    const p = modelServerNetworkPolicy('acct-acme', GATEWAY);
    expect(p.metadata).toMatchObject({ name: MODEL_SERVER_POLICY_NAME, namespace: 'acct-acme', labels: { 'app.kubernetes.io/managed-by': 'hearth' } });
    expect(p.spec?.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/managed-by': 'hearth', 'app.kubernetes.io/name': 'model-server' } });
    expect(p.spec?.policyTypes).toEqual(['Ingress']);
    // Exactly one rule, `from` the peers (client-node names the field `_from`; the typed API sends `from`).
    expect(p.spec?.ingress).toEqual([{ _from: GATEWAY }]);
  });

  it('refuses an empty peer list (it would cut the gateway off)', () => {
    expect(() => modelServerNetworkPolicy('acct-acme', [])).toThrow(/at least one peer/);
  });

  it("defaults to Hearth's pods in Hearth's namespace, never to everyone", () => {
    expect(defaultModelServerPeers('hearth-prod')).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'hearth-prod' } }, podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'hearth' } } },
    ]);
    expect(defaultModelServerPeers(undefined)[0]?.namespaceSelector).toEqual({ matchLabels: { 'kubernetes.io/metadata.name': 'hearth-system' } });
  });
});

describe('ensureAccountNamespace', () => {
  it('creates the namespace, labelled and sealed, and its one policy; a second pass changes nothing', async () => {
    const k = fakeKube();
    expect(await ensureAccountNamespace(k.source, 'acme', { seal: SEAL, modelServerPeers: GATEWAY })).toBe('acct-acme');
    await ensureAccountNamespace(k.source, 'acme', { seal: SEAL, modelServerPeers: GATEWAY });
    expect(k.namespaces).toEqual(['acct-acme']);
    expect(SEAL.tenancyOf(k.objects.get('acct-acme'))).toEqual({ kind: 'account', account: 'acme' });
    expect(k.objects.get('acct-acme')?.metadata?.labels).toEqual({ 'hearth.dev/account': 'acme', 'app.kubernetes.io/managed-by': 'hearth' });
    expect(k.policies).toHaveLength(1);
    expect(k.policies[0]?.spec?.ingress?.[0]?._from).toEqual(GATEWAY);
    expect(k.patches).toEqual([]);
  });

  it('gives a sealed namespace that existed before the policy was introduced its policy', async () => {
    const k = fakeKube();
    k.add({ metadata: { name: 'acct-old', ...SEAL.metadataFor('acct-old', 'old') } });
    await new NamespaceEnsurer(k.source, { seal: SEAL }).ensure('old');
    expect(k.policies.map((p) => p.metadata?.namespace)).toEqual(['acct-old']);
  });

  it('refuses an acct-<id> someone else made first (squatting), labelled or not, sealed for another account or not: 400 ERR_NAMESPACE_NOT_OWNED, nothing written', async () => {
    const squats: V1Namespace[] = [
      { metadata: { name: 'acct-acme' } },
      { metadata: { name: 'acct-acme', labels: { 'hearth.dev/account': 'acme', 'app.kubernetes.io/managed-by': 'hearth' } } },
      { metadata: { name: 'acct-acme', labels: { 'hearth.dev/account': 'acme' }, annotations: { 'hearth.dev/account-seal': 'v1.forged' } } },
      { metadata: { name: 'acct-acme', ...SEAL.metadataFor('acct-acme', 'globex') } },
      { metadata: { name: 'acct-acme', ...new NamespaceSeal('another installation!').metadataFor('acct-acme', 'acme') } },
    ];
    for (const squat of squats) {
      const k = fakeKube();
      k.add(squat);
      const err = await ensureAccountNamespace(k.source, 'acme', { seal: SEAL, adoptUnsealed: () => Promise.resolve(false) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).httpStatus).toBe(400);
      expect((err as ApiError).reason).toBe('ERR_NAMESPACE_NOT_OWNED');
      expect(k.policies).toEqual([]);
      expect(k.patches).toEqual([]);
    }
  });

  it('upgrade: seals a namespace Hearth labelled before seals existed when the rule allows (an account older than the secret), never an unmarked one', async () => {
    const k = fakeKube();
    k.add({ metadata: { name: 'acct-old', labels: { 'hearth.dev/account': 'old', 'app.kubernetes.io/managed-by': 'hearth' } } });
    const asked: string[] = [];
    await ensureAccountNamespace(k.source, 'old', { seal: SEAL, adoptUnsealed: (a) => (asked.push(a), Promise.resolve(true)) });
    expect(asked).toEqual(['old']);
    expect(SEAL.tenancyOf(k.objects.get('acct-old'))).toEqual({ kind: 'account', account: 'old' });
    const u = fakeKube();
    u.add({ metadata: { name: 'acct-old', labels: { 'hearth.dev/account': 'old' } } }); // no managed-by mark: not one Hearth made
    await expect(ensureAccountNamespace(u.source, 'old', { seal: SEAL, adoptUnsealed: () => Promise.resolve(true) })).rejects.toThrow(/not made by Hearth/);
  });

  it('reads the peers from HEARTH_MODEL_SERVER_INGRESS_FROM, and the default namespace from POD_NAMESPACE', () => {
    expect(namespaceOptions(parseConfig({ HEARTH_MODEL_SERVER_INGRESS_FROM: JSON.stringify(GATEWAY) }), SEAL)).toEqual({ seal: SEAL, modelServerPeers: GATEWAY });
    expect(namespaceOptions(parseConfig({ POD_NAMESPACE: 'hearth-prod' }), SEAL)).toEqual({ seal: SEAL, hearthNamespace: 'hearth-prod' });
    for (const bad of ['[]', '{}', 'nope', '[1]']) expect(() => parseConfig({ HEARTH_MODEL_SERVER_INGRESS_FROM: bad })).toThrow(/HEARTH_MODEL_SERVER_INGRESS_FROM/);
  });
});
