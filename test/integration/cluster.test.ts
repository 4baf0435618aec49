// Proof that the simulated cluster is a real Kubernetes control plane: kube-scheduler fits GPU
// pods, kube-controller-manager runs Deployments and garbage collection, CRDs are served.
import { randomBytes } from 'node:crypto';
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCELERATOR_LABEL, REGION_LABEL } from '../../hack/lib/fleet.js';
import { testKubeConfig } from '../support/env.js';
import { createTestNamespace } from '../support/namespace.js';
import { dumpNamespace, waitFor } from '../support/wait.js';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const ns = `cluster-${randomBytes(3).toString('hex')}`;
const dump = () => dumpNamespace(kc, ns);

function gpuPod(name: string, gpus: number, region: string, accelerator: string, resource = 'nvidia.com/gpu'): V1Pod {
  return {
    metadata: { name, labels: { app: name } },
    spec: {
      containers: [{ name: 'server', image: 'vllm/vllm-openai:latest', resources: { limits: { [resource]: String(gpus) } } }],
      tolerations: [{ key: resource, operator: 'Exists', effect: 'NoSchedule' }],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              {
                matchExpressions: [
                  { key: REGION_LABEL, operator: 'In', values: [region] },
                  { key: ACCELERATOR_LABEL, operator: 'In', values: [accelerator] },
                ],
              },
            ],
          },
        },
      },
    },
  };
}

beforeAll(async () => {
  await createTestNamespace(kc, ns);
});

afterAll(async () => {
  await core.deleteNamespace({ name: ns }).catch(() => undefined);
});

describe('the simulated GPU cluster', () => {
  it('schedules a pod asking for 8 GPUs onto a node of the required region and accelerator, and runs it', async () => {
    await core.createNamespacedPod({ namespace: ns, body: gpuPod('eight', 8, 'EU_PARIS_1', 'NVIDIA_H200_141GB') });
    const pod = await waitFor(
      'pod "eight" to be Running',
      async () => {
        const p = await core.readNamespacedPod({ namespace: ns, name: 'eight' });
        return p.status?.phase === 'Running' ? p : undefined;
      },
      { timeoutMs: 30_000, dump },
    );
    const node = await core.readNode({ name: pod.spec!.nodeName! });
    expect(node.metadata?.labels?.[REGION_LABEL]).toBe('EU_PARIS_1');
    expect(node.metadata?.labels?.[ACCELERATOR_LABEL]).toBe('NVIDIA_H200_141GB');
    expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('leaves a pod asking for 9 GPUs Pending as Unschedulable', async () => {
    await core.createNamespacedPod({ namespace: ns, body: gpuPod('nine', 9, 'US_VIRGINIA_2', 'NVIDIA_H100_80GB') });
    const cond = await waitFor(
      'pod "nine" to be marked Unschedulable',
      async () => {
        const p = await core.readNamespacedPod({ namespace: ns, name: 'nine' });
        return p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable');
      },
      { timeoutMs: 30_000, dump },
    );
    expect(cond.status).toBe('False');
    expect(cond.message).toMatch(/Insufficient nvidia\.com\/gpu/);
    const p = await core.readNamespacedPod({ namespace: ns, name: 'nine' });
    expect(p.status?.phase).toBe('Pending');
    expect(p.spec?.nodeName).toBeUndefined();
  });

  it('runs an apps/v1 Deployment: ReplicaSet and pods appear and become available, and deleting it collects them', async () => {
    const labels = { app: 'mi300x' };
    const template = gpuPod('mi300x', 1, 'US_VIRGINIA_2', 'AMD_MI300X_192GB', 'amd.com/gpu');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'mi300x' },
        spec: { replicas: 3, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: template.spec } },
      },
    });
    await waitFor(
      'deployment "mi300x" to have 3 available replicas',
      async () => (await apps.readNamespacedDeployment({ namespace: ns, name: 'mi300x' })).status?.availableReplicas === 3,
      { timeoutMs: 60_000, dump },
    );
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=mi300x' });
    expect(pods.items).toHaveLength(3);
    for (const p of pods.items) expect(p.status?.phase).toBe('Running');

    // Garbage collection: the ReplicaSet and pods are owned (transitively) by the Deployment.
    await apps.deleteNamespacedDeployment({ namespace: ns, name: 'mi300x', propagationPolicy: 'Background' });
    await waitFor(
      'the ReplicaSet and pods of "mi300x" to be garbage-collected',
      async () => {
        const [rs, ps] = await Promise.all([
          apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=mi300x' }),
          core.listNamespacedPod({ namespace: ns, labelSelector: 'app=mi300x' }),
        ]);
        return rs.items.length === 0 && ps.items.length === 0;
      },
      { timeoutMs: 60_000, dump },
    );
  });

  it('garbage-collects an object whose owner is deleted', async () => {
    const owner = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'owner' } } });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: {
          name: 'child',
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid!, controller: true }],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'owner' });
    await waitFor(
      'configmap "child" to be garbage-collected',
      async () => {
        try {
          await core.readNamespacedConfigMap({ namespace: ns, name: 'child' });
          return false;
        } catch (e) {
          return (e as { code?: number }).code === 404;
        }
      },
      { timeoutMs: 60_000, dump },
    );
  });

  it('creates and serves a CustomResourceDefinition', async () => {
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const group = `${ns}.test.hearth.dev`;
    const name = `widgets.${group}`;
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: { spec: { type: 'object', properties: { size: { type: 'integer', minimum: 1 } } } },
                },
              },
            },
          ],
        },
      },
    });
    try {
      await waitFor('the CRD to be Established', async () => {
        const crd = await ext.readCustomResourceDefinition({ name });
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      });
      const body = { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } };
      // Discovery can lag Established by a moment: retry the first create until it is served.
      await waitFor('the custom resource to be served', async () =>
        custom.createNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural: 'widgets', body }),
      );
      const got = (await custom.getNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural: 'widgets', name: 'w1' })) as {
        spec: { size: number };
      };
      expect(got.spec.size).toBe(3);
      await expect(
        custom.createNamespacedCustomObject({
          group,
          version: 'v1',
          namespace: ns,
          plural: 'widgets',
          body: { ...body, metadata: { name: 'w2' }, spec: { size: 0 } },
        }),
      ).rejects.toMatchObject({ code: 422 });
    } finally {
      await ext.deleteCustomResourceDefinition({ name });
    }
  });
});
