// The pure builders: the Job a BatchJob runs as, the executor's command, what a pool offers.
import { describe, expect, it } from 'vitest';
import type { BatchJobSpecInput } from '../../crds/batch-job.js';
import { API_VERSION } from '../../crds/group.js';
import type { HearthObject } from '../runtime/writer.js';
import { buildJob, executorCommand, poolShape, rankEnv } from './resources.js';

const bj = (spec: Partial<BatchJobSpecInput> = {}): HearthObject<'BatchJob'> =>
  ({
    apiVersion: API_VERSION,
    kind: 'BatchJob',
    metadata: { name: 'bj-7', namespace: 'acct-acme', uid: 'uid-7' },
    spec: { nodePoolId: 'train', numRanks: 4, imageRef: 'python:3.12', shellExecutor: { command: 'echo hi' }, ...spec },
  }) as HearthObject<'BatchJob'>;

const gpuPool = { metadata: { name: 'train' }, spec: { minNodeCount: 0, maxNodeCount: 2, overprovisionNodeCount: 0, fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB' as const, acceleratorCount: 4 } } };
const cpuPool = { metadata: { name: 'cpu' }, spec: { minNodeCount: 0, maxNodeCount: 3, overprovisionNodeCount: 0, fakeNodePool: {} } };

describe('executorCommand', () => {
  it.each<[string, Partial<BatchJobSpecInput>, string[]]>([
    ['python module with args', { pythonExecutor: { targetType: 'MODULE', target: 'train.main', args: ['--lr', '0.1'] } }, ['python', '-m', 'train.main', '--lr', '0.1']],
    ['python file', { pythonExecutor: { targetType: 'FILENAME', target: 'run.py' } }, ['python', 'run.py']],
    ['notebook, headless', { notebookExecutor: { notebookFilename: 'nb/eval.ipynb' } }, ['jupyter', 'nbconvert', '--execute', '--to', 'notebook', '--output', 'eval.executed.ipynb', 'nb/eval.ipynb']],
    ['shell', { shellExecutor: { command: 'echo $RANK && exit 3' } }, ['sh', '-c', 'echo $RANK && exit 3']],
  ])('%s', (_, spec, want) => {
    expect(executorCommand(spec as never)).toEqual(want);
  });
});

describe('poolShape', () => {
  it('GPU pool: its accelerators per node, maxNodeCount × that ranks, one GPU of its resource per rank', () => {
    expect(poolShape(gpuPool as never)).toEqual({ gpuResource: 'nvidia.com/gpu', ranksPerNode: 4, maxRanks: 8 });
  });
  it('CPU pool: a host per rank', () => {
    expect(poolShape(cpuPool as never)).toEqual({ ranksPerNode: 1, maxRanks: 3 });
  });
  it('a pool by machine type: the GPUs of that machine, as the NodePool controller makes its nodes (a3-highgpu-8g: 8 H100)', () => {
    expect(poolShape({ spec: { ...gpuPool.spec, maxNodeCount: 3, fakeNodePool: { machineType: 'a3-highgpu-8g' } } } as never)).toEqual({ gpuResource: 'nvidia.com/gpu', ranksPerNode: 8, maxRanks: 24 });
    expect(poolShape({ spec: { ...gpuPool.spec, fakeNodePool: { machineType: 'n2-standard-32' } } } as never)).toEqual({ ranksPerNode: 1, maxRanks: 2 });
  });
});

describe('rankEnv', () => {
  it('the job\'s variables sorted, then RANK from the completion index and WORLD_SIZE; RANK cannot be overridden', () => {
    expect(rankEnv({ envVars: { B: '2', A: '1', RANK: '9' } }, 4)).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
      { name: 'RANK', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } },
      { name: 'WORLD_SIZE', value: '4' },
    ]);
  });
});

describe('buildJob', () => {
  const job = buildJob({ bj: bj({ envVars: { X: 'y' } }), account: 'acme', image: 'python:3.12', pool: gpuPool as never });
  const pod = job.spec!.template.spec!;
  const c = pod.containers[0]!;

  it('Indexed, one pod per rank, never retried, owned by the BatchJob', () => {
    expect(job.metadata).toMatchObject({ name: 'bj-7', namespace: 'acct-acme', ownerReferences: [{ kind: 'BatchJob', name: 'bj-7', uid: 'uid-7', controller: true }] });
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 4, parallelism: 4, backoffLimit: 0 });
    expect(pod.restartPolicy).toBe('Never');
  });

  it("on the pool's nodes only, one GPU per rank", () => {
    expect(pod.nodeSelector).toEqual({ 'hearth.dev/node-pool': 'train', 'hearth.dev/node-pool-account': 'acme' });
    expect(pod.tolerations).toEqual([
      { key: 'hearth.dev/node-pool', operator: 'Equal', value: 'train', effect: 'NoSchedule' },
      { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
    ]);
    expect(c.resources).toEqual({ requests: { 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '1' } });
    expect(pod.affinity).toBeUndefined();
  });

  it('a CPU pool: no GPU, and no two ranks on one host', () => {
    const cpu = buildJob({ bj: bj({ nodePoolId: 'cpu' }), account: 'acme', image: 'i', pool: cpuPool as never }).spec!.template.spec!;
    expect(cpu.containers[0]!.resources).toBeUndefined();
    expect(cpu.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.[0]).toEqual({
      labelSelector: { matchLabels: { 'hearth.dev/batch-job': 'bj-7' } },
      topologyKey: 'kubernetes.io/hostname',
    });
  });

  it('the restricted pod security profile', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('the image, the command, the env, and labels that find the pods', () => {
    expect(c.image).toBe('python:3.12');
    expect(c.command).toEqual(['sh', '-c', 'echo hi']);
    expect(c.env?.map((e) => e.name)).toEqual(['X', 'RANK', 'WORLD_SIZE']);
    expect(job.spec!.template.metadata!.labels).toMatchObject({ 'hearth.dev/batch-job': 'bj-7', 'app.kubernetes.io/managed-by': 'hearth', 'hearth.dev/account': 'acme' });
  });

  it('is pure: the same inputs give the same Job', () => {
    expect(buildJob({ bj: bj({ envVars: { X: 'y' } }), account: 'acme', image: 'python:3.12', pool: gpuPool as never })).toEqual(job);
  });
});
