// The environment pod builder (pure): placement on the pool, GPUs or hosts per rank, local
// storage, the pinned image, the restricted security context, the plan hash.
import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../crds/group.js';
import type { HearthObject } from '../runtime/writer.js';
import { environmentPods, planHash, poolGpuResource, rankPod, shellCommand, type RankPlan } from './pods.js';

const env = {
  apiVersion: API_VERSION,
  kind: 'Environment',
  metadata: { name: 'dev', namespace: 'acct-acme', uid: 'uid-dev' },
  spec: {},
} as HearthObject<'Environment'>;

const GPU: RankPlan = { account: 'acme', poolId: 'gpu', numRanks: 3, image: 'img:1', useLocalStorage: false, gpuResource: 'amd.com/gpu' };

describe('environment pods', () => {
  it('one pod per rank, named and labelled by rank, owned by the environment', () => {
    const pods = environmentPods(env, GPU);
    expect(pods.map((p) => p.metadata?.name)).toEqual(['dev-rank-0', 'dev-rank-1', 'dev-rank-2']);
    expect(pods[2]?.metadata?.labels).toMatchObject({ 'hearth.dev/environment': 'dev', 'hearth.dev/rank': '2', 'hearth.dev/node-pool': 'gpu', 'app.kubernetes.io/managed-by': 'hearth', 'hearth.dev/account': 'acme' });
    expect(pods[0]?.metadata?.ownerReferences).toEqual([{ apiVersion: API_VERSION, kind: 'Environment', name: 'dev', uid: 'uid-dev', controller: true, blockOwnerDeletion: true }]);
  });

  it("lands only on the pool's nodes: its nodeSelector and toleration", () => {
    const spec = rankPod(env, GPU, 0).spec!;
    expect(spec.nodeSelector).toEqual({ 'hearth.dev/node-pool': 'gpu', 'hearth.dev/node-pool-account': 'acme' });
    expect(spec.tolerations).toEqual([{ key: 'hearth.dev/node-pool', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }]);
  });

  it('GPU pool: one GPU of the accelerator per rank, no anti-affinity; CPU pool: no GPU, one host per rank', () => {
    const gpu = rankPod(env, GPU, 0).spec!;
    expect(gpu.containers[0]?.resources).toEqual({ requests: { 'amd.com/gpu': '1' }, limits: { 'amd.com/gpu': '1' } });
    expect(gpu.affinity).toBeUndefined();
    const { gpuResource: _g, ...cpuPlan } = GPU;
    const cpu = rankPod(env, cpuPlan, 0).spec!;
    expect(cpu.containers[0]?.resources).toBeUndefined();
    expect(cpu.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      { labelSelector: { matchLabels: { 'hearth.dev/environment': 'dev' } }, topologyKey: 'kubernetes.io/hostname' },
    ]);
  });

  it('the restricted Pod Security Standard, a long-running command, the pinned image', () => {
    const spec = rankPod(env, GPU, 1).spec!;
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(spec.automountServiceAccountToken).toBe(false);
    const c = spec.containers[0]!;
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true });
    expect(c.command).toEqual(['/bin/sh', '-c', 'trap "exit 0" TERM; sleep infinity & wait']);
    expect(c.image).toBe('img:1');
    expect(c.env).toContainEqual({ name: 'HEARTH_RANK', value: '1' });
  });

  it('local storage: an emptyDir at /tmp only when asked', () => {
    expect(rankPod(env, GPU, 0).spec?.volumes).toBeUndefined();
    const spec = rankPod(env, { ...GPU, useLocalStorage: true }, 0).spec!;
    expect(spec.volumes).toEqual([{ name: 'local', emptyDir: {} }]);
    expect(spec.containers[0]?.volumeMounts).toEqual([{ name: 'local', mountPath: '/tmp' }]);
  });

  it('the plan hash changes with the image, the pool, the ranks and local storage', () => {
    const h = planHash(GPU);
    expect(planHash({ ...GPU })).toBe(h);
    for (const other of [{ ...GPU, image: 'img:2' }, { ...GPU, poolId: 'x' }, { ...GPU, numRanks: 4 }, { ...GPU, useLocalStorage: true }]) expect(planHash(other)).not.toBe(h);
    expect(rankPod(env, GPU, 0).metadata?.annotations).toEqual({ 'hearth.dev/template-hash': h });
  });

  it("the pool's GPU resource comes from its accelerator type (catalog); a pool without one is a CPU pool", () => {
    expect(poolGpuResource({ spec: { fakeNodePool: { acceleratorType: 'NVIDIA_A100_80GB' } } as never })).toBe('nvidia.com/gpu');
    expect(poolGpuResource({ spec: { fakeNodePool: { acceleratorType: 'AMD_MI300X_192GB' } } as never })).toBe('amd.com/gpu');
    expect(poolGpuResource({ spec: { fakeNodePool: {} } as never })).toBeUndefined();
    expect(poolGpuResource({ spec: { fakeNodePool: { machineType: 'a3-highgpu-8g' } } as never })).toBe('nvidia.com/gpu');
    expect(poolGpuResource({ spec: { fakeNodePool: { machineType: 'n2-standard-32' } } as never })).toBeUndefined();
    expect(poolGpuResource({ spec: { eksNodePool: { instanceType: 'm5.large' } } as never })).toBeUndefined();
  });

  it('the shell command', () => {
    expect(shellCommand('acct-acme', 'dev-rank-0')).toBe('kubectl exec -it -n acct-acme dev-rank-0 -c environment -- /bin/sh');
  });
});
