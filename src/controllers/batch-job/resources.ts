// Pure builders of what a BatchJob runs: the batch/v1 Job (Indexed, one pod per rank), the
// executor turned into a command, and what a node pool offers (ranks per node, the GPU resource).
// No I/O, no clock: the reconciler decides, these only build.
import type { V1Container, V1EnvVar, V1Job, V1PodSpec } from '@kubernetes/client-node';
import type { BatchJobSpec } from '../../crds/batch-job.js';
import { LABELS, MANAGED_BY } from '../../crds/group.js';
import type { NodePool } from '../../crds/node-pool.js';
import { NODE_POOL_LABELS, nodePoolScheduling } from '../../fleet/node-pools.js';
import { poolGpuResource, ranksPerNode } from '../../fleet/pool-ranks.js';
import { COMPLETION_INDEX_ANNOTATION, RANK_CONTAINER as CONTAINER_NAME } from '../../kube/pod-logs.js';
import { ownerReference } from '../runtime/owner-refs.js';
import type { HearthObject } from '../runtime/writer.js';

type BatchJob = HearthObject<'BatchJob'>;

/** Labels on the Job and its pods: which BatchJob they run, and which rank a pod is. */
export const BATCH_JOB_LABELS = {
  /** The BatchJob's object name. */
  batchJob: LABELS.batchJob,
} as const;

/** The annotation the Job controller puts on each pod of an Indexed Job; the container of every rank. */
export { COMPLETION_INDEX_ANNOTATION, RANK_CONTAINER as CONTAINER_NAME } from '../../kube/pod-logs.js';

/** The Job of a BatchJob: `bj-17` runs as Job `bj-17`. */
export function jobNameOf(bj: { metadata: { name?: string } }): string {
  return bj.metadata.name ?? '';
}

/** What a pool gives a rank: a GPU (of this resource) on GPU pools, a whole host on CPU pools. */
export interface PoolShape {
  /** The extended resource of one rank, or undefined on a CPU pool (one pod per host). */
  gpuResource?: string;
  ranksPerNode: number;
  maxRanks: number;
}

/** What the pool's nodes offer (src/fleet/pool-ranks.ts: a simulated pool's machine; an EKS pool counts as CPU, a host per rank). */
export function poolShape(pool: Pick<NodePool, 'spec'>): PoolShape {
  const maxNodes = pool.spec.maxNodeCount ?? 1;
  const gpu = poolGpuResource(pool.spec);
  const perNode = ranksPerNode(pool.spec) ?? 1;
  return { ...(gpu ? { gpuResource: gpu } : {}), ranksPerNode: perNode, maxRanks: perNode * maxNodes };
}

/** The command that runs the job's executor (exactly one is set; the CRD says so). */
export function executorCommand(spec: Pick<BatchJobSpec, 'pythonExecutor' | 'notebookExecutor' | 'shellExecutor'>): string[] {
  if (spec.pythonExecutor) {
    const p = spec.pythonExecutor;
    const args = p.args ?? [];
    return p.targetType === 'MODULE' ? ['python', '-m', p.target, ...args] : ['python', p.target, ...args];
  }
  if (spec.notebookExecutor) {
    // Headless: the executed notebook (with its outputs) is written next to the original.
    return ['jupyter', 'nbconvert', '--execute', '--to', 'notebook', '--output', executedNotebookName(spec.notebookExecutor.notebookFilename), spec.notebookExecutor.notebookFilename];
  }
  if (spec.shellExecutor) return ['sh', '-c', spec.shellExecutor.command];
  throw new Error('executorCommand: the job has no executor');
}

/** `train.ipynb` → `train.executed.ipynb`. */
export function executedNotebookName(file: string): string {
  const base = file.split('/').pop() ?? file;
  return base.endsWith('.ipynb') ? `${base.slice(0, -'.ipynb'.length)}.executed.ipynb` : `${base}.executed.ipynb`;
}

/** The job's env vars, then the rank and world size (the rank is the pod's completion index). */
export function rankEnv(spec: Pick<BatchJobSpec, 'envVars'>, numRanks: number): V1EnvVar[] {
  const own = Object.entries(spec.envVars ?? {})
    .filter(([k]) => !RESERVED_ENV.has(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value }));
  return [
    ...own,
    { name: 'RANK', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${COMPLETION_INDEX_ANNOTATION}']` } } },
    { name: 'WORLD_SIZE', value: String(numRanks) },
  ];
}

/** Set by Hearth; a job's envVars cannot override them. */
const RESERVED_ENV = new Set(['RANK', 'WORLD_SIZE', 'JOB_COMPLETION_INDEX']);

export interface JobInputs {
  bj: BatchJob;
  account: string;
  image: string;
  pool: Pick<NodePool, 'spec' | 'metadata'>;
  /** Seconds a rank gets to stop when the job is cancelled (default 30). */
  terminationGracePeriodSeconds?: number;
}

export function numRanksOf(bj: Pick<BatchJob, 'spec'>): number {
  return bj.spec.numRanks ?? 1;
}

/** The batch/v1 Job that runs the BatchJob: Indexed, one pod per rank, never retried. */
export function buildJob(i: JobInputs): V1Job {
  const { bj } = i;
  const ranks = numRanksOf(bj);
  const poolId = i.pool.metadata?.name ?? bj.spec.nodePoolId;
  const labels = { [LABELS.managedBy]: MANAGED_BY, [LABELS.account]: i.account, [BATCH_JOB_LABELS.batchJob]: bj.metadata.name ?? '', [NODE_POOL_LABELS.pool]: poolId };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: jobNameOf(bj), namespace: bj.metadata.namespace, labels, ownerReferences: [ownerReference(bj)] },
    spec: {
      completionMode: 'Indexed',
      completions: ranks,
      parallelism: ranks,
      // A failed rank fails the job: no retries (a rank's restart would change the world).
      backoffLimit: 0,
      // The ranks of one job start together or not at all matters to the program, not to us.
      podReplacementPolicy: 'Failed',
      template: { metadata: { labels }, spec: podSpec(i, ranks, poolId) },
    },
  };
}

function podSpec(i: JobInputs, ranks: number, poolId: string): V1PodSpec {
  const shape = poolShape(i.pool);
  const { nodeSelector, tolerations } = nodePoolScheduling(i.account, poolId);
  const spec: V1PodSpec = {
    restartPolicy: 'Never',
    containers: [container(i, ranks, shape)],
    nodeSelector,
    tolerations: shape.gpuResource ? [...tolerations, { key: shape.gpuResource, operator: 'Exists', effect: 'NoSchedule' }] : tolerations,
    securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: i.terminationGracePeriodSeconds ?? 30,
    volumes: [{ name: 'tmp', emptyDir: {} }],
  };
  if (!shape.gpuResource) {
    // A CPU pool gives each rank a host: no two ranks of the job on one node.
    spec.affinity = {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { labelSelector: { matchLabels: { [BATCH_JOB_LABELS.batchJob]: i.bj.metadata.name ?? '' } }, topologyKey: 'kubernetes.io/hostname' },
        ],
      },
    };
  }
  return spec;
}

function container(i: JobInputs, ranks: number, shape: PoolShape): V1Container {
  const c: V1Container = {
    name: CONTAINER_NAME,
    image: i.image,
    command: executorCommand(i.bj.spec),
    env: rankEnv(i.bj.spec, ranks),
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true },
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  // Extended resources are never overcommitted: requests == limits.
  if (shape.gpuResource) c.resources = { requests: { [shape.gpuResource]: '1' }, limits: { [shape.gpuResource]: '1' } };
  return c;
}
