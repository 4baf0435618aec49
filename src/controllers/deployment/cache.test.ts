import type { KubernetesObject, V1Container, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ACCELERATOR_LABEL, REGION_LABEL } from '../../fleet/catalog.js';
import { slimChild, slimNode, slimPod } from '../runtime/projections.js';
import { podOwnerKey } from './controller.js';
import { podGpus } from '../../fleet/gpus.js';
import { freeGpusByRegion, isSchedulableFor } from './placement.js';
import { isControlledBy, makeService, makeWorkload } from './children/index.js';
import { buildModelServer } from './model-server.js';
import { DEFAULT_MODEL_SERVER_CONFIG } from './model-server-config.js';
import { summarizePods } from './status.js';
import { hearthDeployment, spec } from './testing.js';

const H100 = 'NVIDIA_H100_80GB';
const REGION = 'US_ARIZONA_1';
const managedFields = [
  { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: '2026-11-26T08:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': {} } } },
  { manager: 'kwok', operation: 'Update', subresource: 'status', fieldsV1: { 'f:status': { 'f:conditions': {}, 'f:phase': {} } } },
] as unknown as NonNullable<KubernetesObject['metadata']>['managedFields'];

const dep = hearthDeployment({ acceleratorType: H100, placement: { region: REGION } });
const server = (() => {
  const r = buildModelServer(spec({ acceleratorType: H100 }), DEFAULT_MODEL_SERVER_CONFIG);
  if (!r.ok) throw new Error(r.message);
  return r.value;
})();
const workload = makeWorkload(dep, server, { replicas: 1, region: REGION, workload: DEFAULT_MODEL_SERVER_CONFIG.workload });
const template = workload.spec!.template;

type PodState = { node?: string; phase?: string; ready?: boolean; hash?: string; deleting?: boolean; waiting?: string; lastMessage?: string; unschedulable?: boolean };

/** One of Hearth's model-server pods as the API server returns it: the whole template, managedFields, status. */
function hearthPod(name: string, s: PodState = {}): V1Pod {
  const annotations = { ...template.metadata?.annotations, ...(s.hash ? { 'hearth.dev/template-hash': s.hash } : {}), 'kubectl.kubernetes.io/restartedAt': '2026-11-26T08:00:00Z' };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: dep.metadata.namespace,
      uid: `uid-${name}`,
      resourceVersion: '42',
      labels: { ...template.metadata?.labels, 'pod-template-hash': '6d4cf56db6' },
      annotations,
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'chat-6d4cf56db6', uid: 'rs', controller: true, blockOwnerDeletion: true }],
      managedFields,
      ...(s.deleting ? { deletionTimestamp: '2026-11-26T08:00:00Z' as unknown as Date } : {}),
    },
    spec: { ...template.spec!, ...(s.node ? { nodeName: s.node } : {}) },
    status: {
      phase: s.phase ?? 'Pending',
      hostIP: '10.0.0.1',
      podIP: '10.244.0.5',
      startTime: '2026-11-26T08:00:00Z' as unknown as Date,
      conditions: [
        { type: 'Ready', status: s.ready ? 'True' : 'False', lastTransitionTime: '2026-11-26T08:00:00Z' as unknown as Date },
        ...(s.unschedulable ? [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: insufficient nvidia.com/gpu' }] : []),
      ],
      containerStatuses: [
        {
          name: template.spec!.containers[0]!.name,
          image: 'vllm/vllm-openai:v0.11.0',
          imageID: 'sha256:abc',
          ready: s.ready === true,
          restartCount: s.waiting ? 3 : 0,
          state: s.waiting ? { waiting: { reason: s.waiting, message: 'back-off 40s restarting failed container' } } : { running: { startedAt: '2026-11-26T08:00:00Z' as unknown as Date } },
          ...(s.lastMessage !== undefined ? { lastState: { terminated: { exitCode: 1, reason: 'Error', message: s.lastMessage } } } : {}),
        },
      ],
    },
  };
}

/** Someone else's GPU pod: a sidecar and an init container that ask for GPUs, big annotations. */
function foreignPod(name: string, node: string, phase = 'Running'): V1Pod {
  const c = (n: string, gpus: number, extra: Partial<V1Container> = {}): V1Container => ({
    name: n,
    image: 'trainer:1',
    command: ['python', '-m', 'train'],
    env: [{ name: 'X', value: 'y'.repeat(200) }],
    resources: { requests: { cpu: '4', 'nvidia.com/gpu': String(gpus) }, limits: { 'nvidia.com/gpu': String(gpus) } },
    ...extra,
  });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'ml-team', uid: `uid-${name}`, resourceVersion: '7', labels: { app: 'trainer' }, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': 'z'.repeat(2000) }, managedFields },
    spec: {
      nodeName: node,
      initContainers: [c('warmup', 4), c('proxy', 1, { restartPolicy: 'Always' })],
      containers: [c('train', 2)],
    },
    status: { phase, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

function gpuNode(name: string, over: { ready?: string; unschedulable?: boolean } = {}): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `uid-${name}`, resourceVersion: '3', labels: { [REGION_LABEL]: REGION, [ACCELERATOR_LABEL]: H100 }, annotations: { 'kwok.x-k8s.io/node': 'fake' }, managedFields },
    spec: { unschedulable: over.unschedulable, taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }], podCIDR: '10.244.1.0/24' },
    status: {
      capacity: { cpu: '192', 'nvidia.com/gpu': '8' },
      allocatable: { cpu: '192', 'nvidia.com/gpu': '8' },
      conditions: [{ type: 'Ready', status: over.ready ?? 'True', lastHeartbeatTime: '2026-11-26T08:00:00Z' as unknown as Date, reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
      images: [{ names: ['vllm/vllm-openai:v0.11.0'], sizeBytes: 9_000_000_000 }],
      nodeInfo: { architecture: 'amd64', bootID: '', containerRuntimeVersion: '', kernelVersion: '', kubeProxyVersion: '', kubeletVersion: 'fake', machineID: '', operatingSystem: 'linux', osImage: '', systemUUID: '' },
    },
  };
}

const states: Array<[string, PodState]> = [
  ['unscheduled', { unschedulable: true }],
  ['scheduled', { node: 'n-0' }],
  ['loading', { node: 'n-0', phase: 'Running' }],
  ['ready', { node: 'n-1', phase: 'Running', ready: true }],
  ['stale', { node: 'n-1', phase: 'Running', ready: true, hash: 'old' }],
  ['terminating', { node: 'n-1', phase: 'Running', deleting: true }],
  ['finished', { node: 'n-1', phase: 'Failed' }],
  ['load error', { node: 'n-2', phase: 'Running', waiting: 'CrashLoopBackOff', lastMessage: 'torch.OutOfMemoryError: CUDA out of memory' }],
  ['crash loop', { node: 'n-2', phase: 'Running', waiting: 'CrashLoopBackOff', lastMessage: '' }],
  ['image pull', { node: 'n-2', waiting: 'ImagePullBackOff' }],
];
const hash = template.metadata?.annotations?.['hearth.dev/template-hash'];

describe('slimPod', () => {
  const pods = [...states.map(([n, s]) => hearthPod(n.replace(/ /g, '-'), s)), foreignPod('train-0', 'n-0'), foreignPod('train-1', 'n-2', 'Succeeded')];
  const slim = pods.map((p) => slimPod(structuredClone(p)));

  it.each(states)('summarizePods reads the same from a projected pod: %s', (_name, s) => {
    const p = hearthPod('p', s);
    const current = { 'hearth.dev/template-hash': hash };
    expect(summarizePods([slimPod(structuredClone(p))], current)).toEqual(summarizePods([p], current));
  });

  it('free GPUs, GPU requests and pod routing read the same from projected pods', () => {
    const nodes = [gpuNode('n-0'), gpuNode('n-1'), gpuNode('n-2')];
    expect(freeGpusByRegion(nodes, slim, H100)).toEqual(freeGpusByRegion(nodes, pods, H100));
    expect(slim.map((p) => podGpus(p, 'nvidia.com/gpu'))).toEqual(pods.map((p) => podGpus(p, 'nvidia.com/gpu')));
    expect(podGpus(slim.at(-2)!, 'nvidia.com/gpu')).toBe(4); // init 4 vs containers 2 + sidecar 1
    expect(slim.map(podOwnerKey)).toEqual(pods.map(podOwnerKey));
    expect(slim.map((p) => p.metadata?.labels)).toEqual(pods.map((p) => p.metadata?.labels));
  });

  it('keeps annotations of Hearth pods only, and drops managedFields, the template and addresses', () => {
    const [ours] = slim;
    const foreign = slim.at(-1)!;
    expect(ours!.metadata?.annotations?.['hearth.dev/template-hash']).toBe(hash);
    expect(ours!.metadata?.managedFields).toBeUndefined();
    expect(foreign.metadata?.annotations).toBeUndefined();
    expect(Object.keys(ours!.spec!.containers[0]!)).toEqual(['name', 'resources']);
    expect(ours!.status).not.toHaveProperty('podIP');
    const size = (o: unknown): number => JSON.stringify(o).length;
    const before = pods.reduce((a, p) => a + size(p), 0);
    const after = slim.reduce((a, p) => a + size(p), 0);
    expect(after / before).toBeLessThan(0.35);
  });
});

describe('slimNode', () => {
  it('placement reads the same from projected nodes', () => {
    const nodes = [gpuNode('a'), gpuNode('b', { ready: 'False' }), gpuNode('c', { unschedulable: true })];
    const slim = nodes.map((n) => slimNode(structuredClone(n)));
    expect(slim.map((n) => isSchedulableFor(n, H100))).toEqual([true, false, false]);
    expect(freeGpusByRegion(slim, [foreignPod('t', 'a')], H100)).toEqual(freeGpusByRegion(nodes, [foreignPod('t', 'a')], H100));
    expect(slim[0]!.status).not.toHaveProperty('images');
    expect(slim[0]!.metadata?.managedFields).toBeUndefined();
  });
});

describe('slimChild', () => {
  it('keeps our workloads and Services whole (an update merges their labels and annotations), less managedFields', () => {
    const w = { ...structuredClone(workload), metadata: { ...structuredClone(workload.metadata), managedFields } };
    const s = slimChild(structuredClone(w));
    expect(s).toEqual({ ...workload, metadata: workload.metadata });
    const svc = makeService(dep);
    expect(slimChild({ ...structuredClone(svc), metadata: { ...svc.metadata, managedFields } })).toEqual(svc);
  });

  it("keeps of anyone else's only who controls it", () => {
    const theirs: V1Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'chat', namespace: dep.metadata.namespace, uid: 'x', resourceVersion: '9', labels: { app: 'theirs' }, annotations: { a: 'b' }, managedFields },
      spec: { ports: [{ port: 80 }], selector: { app: 'theirs' } },
    };
    const s = slimChild(theirs);
    expect(s).toEqual({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'chat', namespace: dep.metadata.namespace, uid: 'x', resourceVersion: '9', labels: { app: 'theirs' } } });
    expect(isControlledBy(s, dep)).toBe(false);
  });
});
