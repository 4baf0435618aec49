// The pure parts: nodes and placeholders as built, the pool shape from its spec, the scaling plan.
import { describe, expect, it } from 'vitest';
import { NodePoolSpec } from '../../crds/node-pool.js';
import { MACHINE_TYPES, machineCapacity } from '../../fleet/machine-types.js';
import { nodePoolScheduling } from '../../fleet/node-pools.js';
import { nodeIndex, nodeNameFor, overprovisioningPriorityClass, placeholderDeployment, poolNode, taintsWith } from './builders.js';
import { karpenterNodePool, karpenterUpToDate } from './karpenter.js';
import { nodesFor, planScaling, type PoolPodView, type ScalingInput } from './scaling.js';
import { InvalidPool, poolShape } from './shape.js';

const POOL = { namespace: 'ns', name: 'train', uid: 'u1', account: 'acme' };
const H100 = MACHINE_TYPES['a3-highgpu-8g']!;

describe('builders', () => {
  it('a pool node carries the pool labels and taint, the machine shape and the KWOK annotation', () => {
    const n = poolNode(POOL, H100, 'US_VIRGINIA_2', 3);
    expect(n.metadata?.name).toBe('np-acme-train-3');
    expect(n.metadata?.annotations?.['kwok.x-k8s.io/node']).toBe('fake');
    expect(n.metadata?.labels).toMatchObject({
      'hearth.dev/node-pool': 'train',
      'hearth.dev/node-pool-account': 'acme',
      'topology.kubernetes.io/region': 'US_VIRGINIA_2',
      'node.kubernetes.io/instance-type': 'a3-highgpu-8g',
      'hearth.dev/accelerator-type': 'NVIDIA_H100_80GB',
      'app.kubernetes.io/managed-by': 'hearth',
    });
    expect(n.metadata?.labels?.['hearth.dev/simulated']).toBeUndefined(); // cluster:up would remove it
    expect(n.spec?.taints).toEqual([{ key: 'hearth.dev/node-pool', value: 'train', effect: 'NoSchedule' }]);
    expect(n.status?.allocatable).toEqual(machineCapacity(H100));
    expect(n.status?.allocatable?.['nvidia.com/gpu']).toBe('8');
    expect(nodeIndex('acme', 'train', n.metadata!.name!)).toBe(3);
    expect(nodeIndex('acme', 'train', 'np-acme-train-x')).toBeUndefined();
    expect(nodeIndex('acme', 'train', nodeNameFor('acme', 'trainer', 1))).toBeUndefined();
    // The pods of the pool select exactly these labels and tolerate exactly this taint.
    const s = nodePoolScheduling('acme', 'train');
    for (const [k, v] of Object.entries(s.nodeSelector)) expect(n.metadata?.labels?.[k]).toBe(v);
  });

  it('placeholders: a whole node each, negative priority, restricted security context, on the pool only', () => {
    const pc = overprovisioningPriorityClass();
    expect(pc).toMatchObject({ value: -10, globalDefault: false, metadata: { name: 'hearth-overprovisioning' } });
    const d = placeholderDeployment(POOL, H100, 2);
    expect(d.spec?.replicas).toBe(2);
    expect(d.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'NodePool', uid: 'u1', controller: true });
    const pod = d.spec!.template.spec!;
    expect(pod.priorityClassName).toBe('hearth-overprovisioning');
    expect(pod.nodeSelector).toEqual(nodePoolScheduling('acme', 'train').nodeSelector);
    expect(pod.tolerations).toEqual(nodePoolScheduling('acme', 'train').tolerations);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    const c = pod.containers[0]!;
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(c.resources?.requests?.['nvidia.com/gpu']).toBe('8');
    expect(d.spec?.template.metadata?.labels).toMatchObject({ 'hearth.dev/node-pool': 'train', 'hearth.dev/overprovisioning': 'train' });
    const cpu = placeholderDeployment(POOL, MACHINE_TYPES['n2-standard-32']!, 1);
    expect(cpu.spec?.template.spec?.containers[0]?.resources?.requests).toMatchObject({ cpu: '32' });
  });

  it('taintsWith adds the pool taint once and removes it on release', () => {
    const t = taintsWith([{ key: 'x', effect: 'NoSchedule' }], 'train');
    expect(t).toEqual([{ key: 'x', effect: 'NoSchedule' }, { key: 'hearth.dev/node-pool', value: 'train', effect: 'NoSchedule' }]);
    expect(taintsWith(t, 'train')).toBeUndefined();
    expect(taintsWith(t, 'train', true)).toEqual([{ key: 'x', effect: 'NoSchedule' }]);
    expect(taintsWith([{ key: 'x', effect: 'NoSchedule' }], 'train', true)).toBeUndefined();
  });

  it('a Karpenter NodePool asks for the instance type with the pool labels and taint, bounded by maxNodeCount', () => {
    const spec = NodePoolSpec.parse({ maxNodeCount: 4, eksNodePool: { instanceType: 'p5.48xlarge', spot: true, zone: 'us-east-1a' } });
    const k = karpenterNodePool(POOL, spec, MACHINE_TYPES['p5.48xlarge']!, { idleWindowMs: 600_000 });
    expect(k).toMatchObject({ apiVersion: 'karpenter.sh/v1', kind: 'NodePool', metadata: { name: 'hearth-acme-train' } });
    const tmpl = (k.spec.template as { spec: Record<string, unknown>; metadata: { labels: Record<string, string> } });
    expect(tmpl.metadata.labels).toEqual({ 'hearth.dev/node-pool': 'train', 'hearth.dev/node-pool-account': 'acme' });
    expect(tmpl.spec.taints).toEqual([{ key: 'hearth.dev/node-pool', value: 'train', effect: 'NoSchedule' }]);
    expect(tmpl.spec.requirements).toEqual([
      { key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['p5.48xlarge'] },
      { key: 'karpenter.sh/capacity-type', operator: 'In', values: ['spot'] },
      { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['us-east-1a'] },
    ]);
    expect(k.spec.limits).toEqual({ cpu: '768', memory: '8192Gi', 'nvidia.com/gpu': '32' });
    expect(k.spec.disruption).toEqual({ consolidationPolicy: 'WhenEmpty', consolidateAfter: '600s' });
    // What the API server adds (defaults, status) is not a difference.
    const served = structuredClone(k) as typeof k & { status?: unknown };
    (served.spec.template as { spec: Record<string, unknown> }).spec.expireAfter = '720h';
    served.status = { conditions: [] };
    expect(karpenterUpToDate(served, k)).toBe(true);
    expect(karpenterUpToDate(served, karpenterNodePool(POOL, { ...spec, maxNodeCount: 5 }, MACHINE_TYPES['p5.48xlarge']!, { idleWindowMs: 600_000 }))).toBe(false);
  });
});

describe('poolShape', () => {
  const spec = (s: object) => NodePoolSpec.parse({ maxNodeCount: 2, ...s });
  const field = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (e) {
      if (e instanceof InvalidPool) return e.field;
      throw e;
    }
    return undefined;
  };
  it.each([
    ['machine type', { fakeNodePool: { machineType: 'p5.48xlarge' } }, 'p5.48xlarge', 8, 'US_VIRGINIA_2'],
    ['accelerator only: its default machine', { fakeNodePool: { acceleratorType: 'NVIDIA_A100_80GB' } }, 'a2-ultragpu-8g', 8, 'US_ILLINOIS_2'],
    ['nothing: a CPU machine', { fakeNodePool: {} }, 'n2-standard-32', 0, 'US_ILLINOIS_2'],
    ['acceleratorCount overrides', { fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 2, region: 'AP_TOKYO_1' } }, 'a3-highgpu-8g', 2, 'AP_TOKYO_1'],
  ])('%s', (_n, s, machine, gpus, region) => {
    const shape = poolShape(spec(s), false);
    expect(shape).toMatchObject({ provisioning: 'simulated', machine: { name: machine, acceleratorCount: gpus }, region });
  });
  it.each([
    ['unknown machine type', { fakeNodePool: { machineType: 'z9.mega' } }, 'fakeNodePool.machineType'],
    ['machine and accelerator disagree', { fakeNodePool: { machineType: 'p5.48xlarge', acceleratorType: 'NVIDIA_A100_80GB' } }, 'fakeNodePool.acceleratorType'],
    ['accelerator with no machine', { fakeNodePool: { acceleratorType: 'NVIDIA_L4_24GB' } }, 'fakeNodePool.acceleratorType'],
    ['GPUs on a CPU machine', { fakeNodePool: { acceleratorCount: 2 } }, 'fakeNodePool.acceleratorCount'],
  ])('refused: %s names %s', (_n, s, f) => {
    expect(field(() => poolShape(spec(s), false))).toBe(f);
  });
  it('eksNodePool: Karpenter when installed, existing nodes by selector, else it needs a provisioner', () => {
    expect(poolShape(spec({ eksNodePool: { instanceType: 'p5.48xlarge' } }), true).provisioning).toBe('karpenter');
    expect(poolShape(spec({ eksNodePool: { instanceType: 'p5.48xlarge' } }), false).provisioning).toBe('needsProvisioner');
    expect(poolShape(spec({ eksNodePool: { instanceType: 'p5.48xlarge', nodeSelector: { ng: 'a' } } }), true).provisioning).toBe('selected');
  });
});

describe('planScaling', () => {
  const pod = (name: string, gpus: number, o: Partial<PoolPodView> = {}): PoolPodView => ({ name, unschedulable: !o.nodeName, placeholder: false, finished: false, gpus, cpuMilli: 1000, ...o });
  const nodes = (n: number, ready = true) => Array.from({ length: n }, (_, i) => ({ name: `n${i}`, ready }));
  const base: ScalingInput = { machine: H100, min: 0, max: 3, nodes: [], pods: [], idleSince: new Map(), now: 1_000_000, idleWindowMs: 600_000 };
  const twenty = Array.from({ length: 20 }, (_, i) => pod(`r${i}`, 1));

  it('packs pods into whole nodes', () => {
    expect(nodesFor(twenty, H100)).toEqual({ nodes: 3, tooBig: [] });
    expect(nodesFor([pod('a', 5), pod('b', 5), pod('c', 3), pod('big', 9)], H100)).toEqual({ nodes: 2, tooBig: ['big'] });
  });
  it.each([
    ['floor: minNodeCount', { min: 2 }, 2, []],
    ['floor: numNodes within min..max', { baseline: 5 }, 3, []],
    ['20 one-GPU pods on 1 node: 2 more (the 1 node is full)', { nodes: nodes(1), pods: [...twenty.slice(0, 8).map((p) => ({ ...p, nodeName: 'n0', unschedulable: false })), ...twenty.slice(8)] }, 2, []],
    ['never beyond maxNodeCount', { max: 2, pods: twenty }, 2, []],
    ['nodes on their way count', { nodes: nodes(3, false), pods: twenty, max: 5 }, 0, []],
    ['a preemptor with a nominated node needs nothing', { nodes: nodes(1), pods: [pod('p', 8, { unschedulable: false })] }, 0, []],
    ['a placeholder evicted for a preemptor nominated to the node needs a node', { nodes: nodes(1), pods: [pod('p', 8, { unschedulable: false, nominatedNodeName: 'n0' }), pod('ph', 8, { placeholder: true })] }, 1, []],
    ['an Unschedulable older than the node that now has room for it needs nothing', { nodes: nodes(1), pods: [pod('ph', 8, { placeholder: true })] }, 0, []],
    ['pods waiting go into the room left on busy nodes first', { nodes: nodes(2), pods: [pod('a', 6, { nodeName: 'n0' }), pod('b', 4, { nodeName: 'n1' }), pod('c', 2), pod('d', 4), pod('e', 4)] }, 1, []],
  ])('grow: %s', (_n, o, add, remove) => {
    expect(planScaling({ ...base, ...o })).toMatchObject({ add, remove });
  });
  it('shrinks idle nodes past the window, to the floor, keeping placeholder nodes and busy ones', () => {
    const idleSince = new Map([
      ['n0', 0],
      ['n1', 0],
      ['n2', 900_000],
    ]);
    const pods = [pod('ph', 8, { nodeName: 'n3', placeholder: true, unschedulable: false })];
    const plan = planScaling({ ...base, max: 5, min: 1, nodes: nodes(4), pods, idleSince });
    // n0, n1 expired; n2 idle for 100 s more; n3 holds the headroom; the floor (1) is not reached.
    expect(plan).toEqual({ add: 0, remove: ['n1', 'n0'], tooBig: [], recheckInMs: 500_000 });
    expect(planScaling({ ...base, max: 5, min: 3, nodes: nodes(4), pods, idleSince }).remove).toEqual(['n1']);
    // Pods still waiting: nothing goes.
    expect(planScaling({ ...base, max: 4, nodes: nodes(4), pods: [pod('w', 1)], idleSince }).remove).toEqual([]);
  });
  it('above a lowered maxNodeCount, idle nodes go at once', () => {
    expect(planScaling({ ...base, max: 1, nodes: nodes(3), pods: [pod('x', 1, { nodeName: 'n0', unschedulable: false })] }).remove).toEqual(['n2', 'n1']);
  });
});
