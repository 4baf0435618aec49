// The Environment controller on the simulated cluster (kube-apiserver, scheduler, KWOK) with a
// real PostgreSQL for users and node pool bindings: connect → CONNECTED (pods on the pool's
// nodes, the zone of their node); a deleted pod → RECONNECTING → CONNECTED; disconnect →
// DISCONNECTING → DISCONNECTED; a user without a binding is refused with a condition naming the
// pool. The pool's nodes are KWOK nodes this test makes itself with the labels and taint of
// src/fleet/node-pools.ts, so it does not depend on the NodePool controller. Each run has its own
// namespace, account, nodes and database.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { installCrds } from '../../hack/lib/crds.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentController } from '../../src/controllers/environment/controller.js';
import { KubeClients, type Runnable } from '../../src/controllers/runtime/index.js';
import type { EnvironmentStatus } from '../../src/crds/environment.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { accountsRepo } from '../../src/db/index.js';
import { createNodePoolBinding } from '../../src/db/repositories/node-pool-bindings.js';
import { nodePoolNodeLabels, nodePoolTaint } from '../../src/fleet/node-pools.js';
import { InformerFactory } from '../../src/kube/informer-factory.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { realClock } from '../../src/util/clock.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { kubeconfigPath } from '../support/env.js';
import { createTestNamespace } from '../support/namespace.js';
import { dumpNamespace, waitFor } from '../support/wait.js';
import { TEST_SEAL } from '../support/tenancy.js';

const suffix = randomBytes(3).toString('hex');
const kc = loadKubeConfig(kubeconfigPath());
const clients = new KubeClients(kc, { qps: 50, burst: 100 });
const core = clients.api(CoreV1Api);
const custom = clients.api(CustomObjectsApi);
const log = pino({ level: process.env.HEARTH_TEST_LOG ?? 'warn' });
const informers = new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log, backoff: { initialMs: 200, maxMs: 2000 } });
const dbName = `hearth_t_envctl_${suffix}`;
const account = `envctl-${suffix}`;
const ns = `envctl-${suffix}`;
const POOL = 'gpu';
const ZONE = 'us-virginia-2-b';
const ALICE = `alice@${account}.example`;
const BOB = `bob@${account}.example`;
const nodeNames = [0, 1].map((i) => `envctl-${suffix}-n${i}`);
let database: Database;
let controller: Runnable | undefined;

const ENVS = { group: GROUP, version: VERSION, plural: 'environments' } as const;

/** A KWOK node of the pool: the pool's labels and taint (src/fleet/node-pools.ts), 8 H100s, a zone. */
function poolNode(name: string): V1Node {
  const resources = { cpu: '96', memory: '1Ti', pods: '110', 'nvidia.com/gpu': '8' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        ...nodePoolNodeLabels(account, POOL),
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        type: 'kwok',
        'topology.kubernetes.io/region': 'US_VIRGINIA_2',
        'topology.kubernetes.io/zone': ZONE,
        'hearth.dev/accelerator-type': 'NVIDIA_H100_80GB',
      },
    },
    spec: { taints: [nodePoolTaint(POOL)] },
    status: { capacity: resources, allocatable: resources },
  };
}

async function createEnvironment(name: string, createdBy: string, connection?: Record<string, unknown>): Promise<void> {
  await custom.createNamespacedCustomObject({
    ...ENVS,
    namespace: ns,
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'Environment',
      metadata: { name, annotations: { 'hearth.dev/created-by': createdBy } },
      spec: { baseImageRef: 'ghcr.io/acme/dev:1', ...(connection ? { connection } : {}) },
    },
  });
}

async function patchSpec(name: string, spec: Record<string, unknown>): Promise<void> {
  await custom.patchNamespacedCustomObject({ ...ENVS, namespace: ns, name, body: { spec } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
}

async function envStatus(name: string): Promise<EnvironmentStatus | undefined> {
  const obj = (await custom.getNamespacedCustomObject({ ...ENVS, namespace: ns, name })) as { status?: EnvironmentStatus };
  return obj.status;
}

async function envPods(name: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: ns, labelSelector: `hearth.dev/environment=${name}` })).items;
}

/** Every state an environment was seen in (from the shared informer: transient states included). */
const seen = new Map<string, string[]>();

const dump = async () => ({
  environments: ((await custom.listNamespacedCustomObject({ ...ENVS, namespace: ns })) as { items: Array<{ metadata: { name: string }; status?: unknown }> }).items.map((e) => ({ name: e.metadata.name, status: e.status })),
  seen: Object.fromEntries(seen),
  ...((await dumpNamespace(kc, ns)) as object),
});

beforeAll(async () => {
  database = await createScratchDatabase(dbName);
  await accountsRepo.createAccount(database.db, { accountId: account, email: `owner@${account}.example` });
  for (const [email, userId] of [[ALICE, 'alice'], [BOB, 'bob']] as const) await accountsRepo.createUser(database.db, { accountId: account, userId, email, role: 'user' });
  await createNodePoolBinding(database.db, { accountId: account, nodePoolId: POOL, principal: ALICE, createdBy: `owner@${account}.example` });
  await createTestNamespace(kc, ns, { 'hearth.dev/account': account });
  // This worktree's CRDs (status.connection.pods and shellCommand are new): another run on the shared cluster may have applied older ones.
  await installCrds(kc, 'hearth-crds-test');
  await waitFor('environments.hearth.dev to be served', async () => {
    await custom.listNamespacedCustomObject({ ...ENVS, namespace: ns, limit: 1 });
    return true;
  });
  for (const n of nodeNames) await core.createNode({ body: poolNode(n) });
  await waitFor('the pool nodes to be Ready', async () => {
    const nodes = await Promise.all(nodeNames.map((name) => core.readNode({ name })));
    return nodes.every((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  });
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: 'nodepools',
    namespace: ns,
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'NodePool', metadata: { name: POOL }, spec: { minNodeCount: 2, maxNodeCount: 2, fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 8 } } },
  });
  const c = environmentController({ clients, informers, db: database.db, clock: realClock, log, namespace: ns });
  informers.informer<Recorded>({ ...ENVS, namespace: ns }).addEventHandler({ add: (e) => record(e), update: (_o, e) => record(e) });
  controller = c;
  await c.start();
}, 120_000);

type Recorded = { apiVersion?: string; kind?: string; metadata?: { name?: string }; status?: EnvironmentStatus };

function record(e: Recorded): void {
  const name = e.metadata?.name ?? '';
  const state = e.status?.state;
  if (!state) return;
  const list = seen.get(name) ?? [];
  if (list.at(-1) !== state) list.push(state);
  seen.set(name, list);
}

afterAll(async () => {
  await controller?.stop(2000);
  await informers.stop();
  await core.deleteNamespace({ name: ns }).catch(() => undefined);
  for (const name of nodeNames) await core.deleteNode({ name }).catch(() => undefined);
  await database?.close();
  await dropScratchDatabase(dbName);
}, 60_000);

describe('Environment controller on the simulated cluster', () => {
  it('connect → CONNECTING → CONNECTED: one GPU per rank on the pool nodes, the zone of their node, the shell command; imageRef pinned', async () => {
    await createEnvironment('dev', ALICE, { nodePoolId: POOL, numRanks: 2 });
    const status = await waitFor('dev to be CONNECTED', async () => ((await envStatus('dev'))?.state === 'CONNECTED' ? envStatus('dev') : undefined), { timeoutMs: 60_000, dump });
    expect(status).toMatchObject({
      imageRef: 'ghcr.io/acme/dev:1',
      connection: { nodePoolId: POOL, numRanks: 2, zone: ZONE, pods: ['dev-rank-0', 'dev-rank-1'], shellCommand: `kubectl exec -it -n ${ns} dev-rank-0 -c environment -- /bin/sh` },
      status: { code: 'OK' },
    });
    expect(seen.get('dev')).toContain('CONNECTING');
    const pods = await envPods('dev');
    expect(pods.map((p) => p.spec?.nodeName).every((n) => nodeNames.includes(n ?? ''))).toBe(true);
    expect(pods.map((p) => p.spec?.containers[0]?.resources?.limits?.['nvidia.com/gpu'])).toEqual(['1', '1']);
    expect(pods[0]?.spec?.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    // A later baseImageRef does not move the pinned image.
    await patchSpec('dev', { baseImageRef: 'ghcr.io/acme/dev:2' });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await envStatus('dev'))?.imageRef).toBe('ghcr.io/acme/dev:1');
    expect((await envPods('dev')).map((p) => p.spec?.containers[0]?.image)).toEqual(['ghcr.io/acme/dev:1', 'ghcr.io/acme/dev:1']);
  }, 90_000);

  it('a pod of a connected environment is deleted → RECONNECTING → CONNECTED with a new pod', async () => {
    const before = (await envPods('dev')).find((p) => p.metadata?.name === 'dev-rank-1')!;
    seen.set('dev', ['CONNECTED']);
    await core.deleteNamespacedPod({ namespace: ns, name: 'dev-rank-1' });
    await waitFor(
      'dev to reconnect',
      async () => {
        const pod = (await envPods('dev')).find((p) => p.metadata?.name === 'dev-rank-1');
        return pod && pod.metadata?.uid !== before.metadata?.uid && (await envStatus('dev'))?.state === 'CONNECTED' && seen.get('dev')!.length > 1;
      },
      { timeoutMs: 60_000, dump },
    );
    expect(seen.get('dev')).toEqual(['CONNECTED', 'RECONNECTING', 'CONNECTED']);
  }, 90_000);

  it('disconnect → DISCONNECTING → DISCONNECTED: the pods are gone', async () => {
    await patchSpec('dev', { connection: null });
    await waitFor('dev to be DISCONNECTED with no pods', async () => (await envStatus('dev'))?.state === 'DISCONNECTED' && (await envPods('dev')).length === 0, { timeoutMs: 60_000, dump });
    expect(seen.get('dev')!.slice(-2)).toEqual(['DISCONNECTING', 'DISCONNECTED']);
    expect((await envStatus('dev'))?.connection).toEqual({ zone: ZONE });
  }, 90_000);

  it('a user without a binding is refused: no pods, a condition naming the pool', async () => {
    await createEnvironment('bobs', BOB, { nodePoolId: POOL, numRanks: 1 });
    const status = await waitFor('bobs to be refused', async () => ((await envStatus('bobs'))?.status?.code === 'PERMISSION_DENIED' ? envStatus('bobs') : undefined), { timeoutMs: 30_000, dump });
    expect(status?.state).toBe('DISCONNECTED');
    expect(status?.status?.message).toBe(`${BOB} may not use node pool "accounts/${account}/nodePools/${POOL}": no node pool binding for it (an admin creates one)`);
    expect(status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'NotBound' });
    expect(await envPods('bobs')).toEqual([]);
  }, 60_000);
});
