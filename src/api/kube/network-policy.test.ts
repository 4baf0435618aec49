// One model-server NetworkPolicy per account namespace, made with the namespace (issue 15 item 6).
import { CoreV1Api, NetworkingV1Api, type V1NetworkPolicy } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config.js';
import type { ApiSource } from '../../kube/client.js';
import { ensureAccountNamespace, namespaceOptions, NamespaceEnsurer } from './namespaces.js';
import { defaultModelServerPeers, MODEL_SERVER_POLICY_NAME, modelServerNetworkPolicy } from './network-policy.js';

const GATEWAY = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'hearth-system' } }, podSelector: { matchLabels: { 'app.kubernetes.io/component': 'gateway' } } }];

/** A fake API server for the two calls: creates remembered, a second create of the same object 409. */
function fakeKube() {
  const namespaces: string[] = [];
  const policies: V1NetworkPolicy[] = [];
  const conflict = () => Object.assign(new Error('exists'), { code: 409 });
  const core = {
    createNamespace: async ({ body }: { body: { metadata: { name: string } } }) => {
      if (namespaces.includes(body.metadata.name)) throw conflict();
      namespaces.push(body.metadata.name);
    },
  };
  const net = {
    createNamespacedNetworkPolicy: async ({ namespace, body }: { namespace: string; body: V1NetworkPolicy }) => {
      if (policies.some((p) => p.metadata?.namespace === namespace && p.metadata.name === body.metadata?.name)) throw conflict();
      policies.push(body);
    },
  };
  const source = { api: (type: unknown) => (type === CoreV1Api ? core : type === NetworkingV1Api ? net : undefined) } as unknown as ApiSource;
  return { source, namespaces, policies };
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
  it('creates the namespace and its one policy; a second pass changes nothing', async () => {
    const k = fakeKube();
    expect(await ensureAccountNamespace(k.source, 'acme', { modelServerPeers: GATEWAY })).toBe('acct-acme');
    await ensureAccountNamespace(k.source, 'acme', { modelServerPeers: GATEWAY });
    expect(k.namespaces).toEqual(['acct-acme']);
    expect(k.policies).toHaveLength(1);
    expect(k.policies[0]?.spec?.ingress?.[0]?._from).toEqual(GATEWAY);
  });

  it('gives a namespace that existed before the policy was introduced its policy', async () => {
    const k = fakeKube();
    k.namespaces.push('acct-old');
    await new NamespaceEnsurer(k.source, {}).ensure('old');
    expect(k.policies.map((p) => p.metadata?.namespace)).toEqual(['acct-old']);
  });

  it('reads the peers from HEARTH_MODEL_SERVER_INGRESS_FROM, and the default namespace from POD_NAMESPACE', () => {
    expect(namespaceOptions(parseConfig({ HEARTH_MODEL_SERVER_INGRESS_FROM: JSON.stringify(GATEWAY) }))).toEqual({ modelServerPeers: GATEWAY });
    expect(namespaceOptions(parseConfig({ POD_NAMESPACE: 'hearth-prod' }))).toEqual({ hearthNamespace: 'hearth-prod' });
    for (const bad of ['[]', '{}', 'nope', '[1]']) expect(() => parseConfig({ HEARTH_MODEL_SERVER_INGRESS_FROM: bad })).toThrow(/HEARTH_MODEL_SERVER_INGRESS_FROM/);
  });
});
