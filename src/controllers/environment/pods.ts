// The pods of a connected Environment (pure): one pod per rank, owned by the Environment, on the
// node pool's nodes (src/fleet/node-pools.ts: the pool's nodeSelector and toleration).
//
// - GPU pool (the pool's accelerator type is known): each rank requests and limits one GPU of the
//   accelerator's extended resource (nvidia.com/gpu, amd.com/gpu); ranks may share a node.
// - CPU pool: one host per rank — a required pod anti-affinity on the environment's pods, keyed by
//   kubernetes.io/hostname.
// - `useLocalStorage`: an emptyDir at /tmp (the node's local disk).
// - The image is the environment's pinned `status.imageRef`; the command keeps the container alive
//   so a user can exec into it, and ends it on SIGTERM (KEEP_ALIVE); the restricted Pod Security Standard.
// - The plan's hash is on every pod: a pod of another plan (the connection or the image changed
//   under kubectl) is replaced.
import { createHash } from 'node:crypto';
import type { V1Pod, V1PodSpec } from '@kubernetes/client-node';
import type { Environment } from '../../crds/environment.js';
import { ANNOTATIONS, API_VERSION, GROUP, LABELS, MANAGED_BY } from '../../crds/group.js';
import type { NodePool } from '../../crds/node-pool.js';
import { NODE_POOL_LABELS, nodePoolScheduling } from '../../fleet/node-pools.js';
import { poolGpuResource as fleetPoolGpuResource } from '../../fleet/pool-ranks.js';
import { ownerReference } from '../runtime/owner-refs.js';
import type { HearthObject } from '../runtime/writer.js';

type Env = HearthObject<'Environment'>;

/** On an environment's pods: the environment's name. */
export const LABEL_ENVIRONMENT = `${GROUP}/environment`;
/** On an environment's pods: the rank (0 … numRanks-1). */
export const LABEL_RANK = `${GROUP}/rank`;
/** The container users exec into. */
export const CONTAINER = 'environment';
/** Where local storage is mounted. */
export const LOCAL_STORAGE_PATH = '/tmp';
/**
 * The container's command: alive until stopped, so a user can exec into it. A bare `sleep` as the
 * container's PID 1 ignores SIGTERM (PID 1 has no default signal actions), so every disconnect
 * would wait out the grace period before the kubelet kills it; the shell ends at once on SIGTERM.
 * `/bin/sh` is what the reported shell command opens anyway.
 */
export const KEEP_ALIVE = ['/bin/sh', '-c', 'trap "exit 0" TERM; sleep infinity & wait'];
/** The unprivileged user the container runs as (the restricted profile refuses root). */
export const RUN_AS = 1000;

/** What the pods of one connection are made from. */
export interface RankPlan {
  account: string;
  poolId: string;
  numRanks: number;
  image: string;
  useLocalStorage: boolean;
  /** The accelerator's extended resource on a GPU pool (one per rank); absent on a CPU pool. */
  gpuResource?: string;
}

/**
 * The extended resource a rank requests on `pool`: the accelerator of a simulated (fake) pool's
 * machine (src/fleet/pool-ranks.ts). An EKS pool's instance type is not mapped to an accelerator
 * yet: CPU (one host per rank).
 */
export function poolGpuResource(pool: Pick<NodePool, 'spec'>): string | undefined {
  return fleetPoolGpuResource(pool.spec);
}

export function podName(envName: string, rank: number): string {
  return `${envName}-rank-${rank}`;
}

/** A short hash of the plan, so a changed connection or image replaces the pods. */
export function planHash(plan: RankPlan): string {
  return createHash('sha256').update(JSON.stringify(plan)).digest('hex').slice(0, 16);
}

/** The command that opens a shell in a pod of the environment. */
export function shellCommand(namespace: string, pod: string): string {
  return `kubectl exec -it -n ${namespace} ${pod} -c ${CONTAINER} -- /bin/sh`;
}

function placement(envName: string, plan: RankPlan): Pick<V1PodSpec, 'nodeSelector' | 'tolerations' | 'affinity'> {
  const { nodeSelector, tolerations } = nodePoolScheduling(plan.account, plan.poolId);
  if (plan.gpuResource) return { nodeSelector, tolerations };
  return {
    nodeSelector,
    tolerations,
    affinity: {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { [LABEL_ENVIRONMENT]: envName } }, topologyKey: 'kubernetes.io/hostname' }],
      },
    },
  };
}

/** The pod of rank `rank`. */
export function rankPod(env: Env, plan: RankPlan, rank: number): V1Pod {
  const name = env.metadata.name ?? '';
  const gpu = plan.gpuResource ? { [plan.gpuResource]: '1' } : undefined;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName(name, rank),
      namespace: env.metadata.namespace,
      labels: {
        [LABELS.managedBy]: MANAGED_BY,
        [LABELS.account]: plan.account,
        [LABEL_ENVIRONMENT]: name,
        [LABEL_RANK]: String(rank),
        [NODE_POOL_LABELS.pool]: plan.poolId,
      },
      annotations: { [ANNOTATIONS.templateHash]: planHash(plan) },
      ownerReferences: [ownerReference({ apiVersion: API_VERSION, kind: 'Environment', metadata: env.metadata })],
    },
    spec: {
      ...placement(name, plan),
      hostname: podName(name, rank),
      restartPolicy: 'Always',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 5,
      securityContext: { runAsNonRoot: true, runAsUser: RUN_AS, runAsGroup: RUN_AS, fsGroup: RUN_AS, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: CONTAINER,
          image: plan.image,
          command: KEEP_ALIVE,
          env: [
            { name: 'HEARTH_ENVIRONMENT', value: name },
            { name: 'HEARTH_RANK', value: String(rank) },
            { name: 'HEARTH_NUM_RANKS', value: String(plan.numRanks) },
            { name: 'HEARTH_NODE_POOL', value: plan.poolId },
          ],
          ...(gpu ? { resources: { requests: gpu, limits: gpu } } : {}),
          ...(plan.useLocalStorage ? { volumeMounts: [{ name: 'local', mountPath: LOCAL_STORAGE_PATH }] } : {}),
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true },
        },
      ],
      ...(plan.useLocalStorage ? { volumes: [{ name: 'local', emptyDir: {} }] } : {}),
    },
  };
}

/** Every rank's pod. */
export function environmentPods(env: Env, plan: RankPlan): V1Pod[] {
  return Array.from({ length: plan.numRanks }, (_, rank) => rankPod(env, plan, rank));
}

export type { Environment };
