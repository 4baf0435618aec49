// Pure builders of what an SFTJob runs on: the batch/v1 Job (Indexed, one pod per node), the
// headless Service that gives the pods DNS names for the rendezvous, and the Secret holding an
// attempt's trainer token. Every object carries the SFTJob's labels and a controller
// ownerReference (garbage collection removes them with the job).
import { createHash } from 'node:crypto';
import type { V1EnvVar, V1Job, V1Secret, V1Service } from '@kubernetes/client-node';
import { LABELS, MANAGED_BY } from '../../crds/group.js';
import { SFT_LABELS, trainerToken } from '../../crds/sft-trainer.js';
import type { SFTJobSpec } from '../../crds/sft-job.js';
import { ACCELERATOR_LABEL, ACCELERATORS, REGION_LABEL, isAcceleratorType, type AcceleratorType } from '../../fleet/catalog.js';
import { gpuTolerations } from '../../fleet/placement.js';
import { ownerReference, type Owner } from '../runtime/owner-refs.js';
import { WORK_DIR, placeholderValues, renderCommand, type TrainerInputs, type TrainerSettings } from './trainer.js';

const MAX_NAME = 63;

function shortName(base: string): string {
  if (base.length <= MAX_NAME) return base;
  const hash = createHash('sha256').update(base).digest('hex').slice(0, 8);
  return `${base.slice(0, MAX_NAME - 9).replace(/-+$/, '')}-${hash}`;
}

/** The batch/v1 Job of an attempt: `sft-<job>-<attempt>` (pods add `-<index>-<suffix>`, so kept ≤ 52). */
export const jobName = (sftJob: string, attempt: number): string => shortName(`sft-${sftJob}-${attempt}`).slice(0, 52).replace(/-+$/, '');
/** The headless Service of the job's pods (pod DNS: `<jobName>-<index>.<service>`). */
export const serviceName = (sftJob: string): string => shortName(`sft-${sftJob}`);
/**
 * The Secret with one attempt's trainer token, named by the job's uid and the attempt: it only
 * ever holds that token (immutable), so it is made beside the Job, not before it. A pod that
 * starts before it lands waits for it (the kubelet retries a missing secretKeyRef); none can read
 * a superseded attempt's token or a deleted namesake job's.
 */
export const secretName = (sftJob: string, uid: string, attempt: number): string => shortName(`sft-${sftJob}-trainer-${attempt}-${uid.slice(0, 8)}`);
export const TOKEN_KEY = 'token';

export interface Placement {
  acceleratorType: AcceleratorType;
  acceleratorCount: number;
  nodes: number;
  region: string;
}

export interface JobInputs {
  owner: Owner;
  account: string;
  attempt: number;
  placement: Placement;
  trainer: TrainerSettings;
  inputs: TrainerInputs;
}

export function labelsOf(sftJob: string, attempt?: number): Record<string, string> {
  return {
    [LABELS.managedBy]: MANAGED_BY,
    [SFT_LABELS.job]: sftJob,
    ...(attempt !== undefined ? { [SFT_LABELS.attempt]: String(attempt) } : {}),
  };
}

/** The env of the contract (README.md): where the API is, the token, the attempt, the rendezvous. */
function contractEnv(i: JobInputs, ns: string): V1EnvVar[] {
  const name = i.owner.metadata.name!;
  const job = jobName(name, i.attempt);
  const { nodes, acceleratorCount } = i.placement;
  const config = { ...placeholderValues(i.inputs) };
  for (const k of Object.keys(config)) if (config[k] === undefined) delete config[k];
  return [
    { name: 'HEARTH_TRAINER_API', value: `${i.trainer.apiUrl.replace(/\/+$/, '')}/v1-trainer/sft/${encodeURIComponent(i.account)}/${encodeURIComponent(name)}` },
    { name: 'HEARTH_TRAINER_TOKEN', valueFrom: { secretKeyRef: { name: secretName(name, String(i.owner.metadata.uid ?? ''), i.attempt), key: TOKEN_KEY } } },
    { name: 'HEARTH_SFT_JOB', value: `accounts/${i.account}/supervisedFineTuningJobs/${name}` },
    { name: 'HEARTH_SFT_ATTEMPT', value: String(i.attempt) },
    { name: 'HEARTH_SFT_RESUME_CHECKPOINT', value: i.inputs.resumeCheckpoint ?? '' },
    { name: 'HEARTH_SFT_CONFIG', value: JSON.stringify(config) },
    { name: 'HEARTH_WORK_DIR', value: WORK_DIR },
    { name: 'MASTER_ADDR', value: `${job}-0.${serviceName(name)}.${ns}.svc` },
    { name: 'MASTER_PORT', value: String(i.trainer.masterPort) },
    { name: 'WORLD_SIZE', value: String(nodes * acceleratorCount) },
    { name: 'NNODES', value: String(nodes) },
    { name: 'NPROC_PER_NODE', value: String(acceleratorCount) },
    // The node's rank is the pod's completion index (Indexed Job).
    { name: 'NODE_RANK', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } },
    { name: 'RANK', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } },
    { name: 'HOME', value: `${WORK_DIR}/home` },
    { name: 'HF_HOME', value: `${WORK_DIR}/huggingface` },
  ];
}

/** The trainer's Job: Indexed, one pod per node, no retries (a resume is a new attempt), restricted. */
export function makeTrainerJob(i: JobInputs): V1Job {
  const name = i.owner.metadata.name!;
  const ns = i.owner.metadata.namespace!;
  const { acceleratorType, acceleratorCount, nodes, region } = i.placement;
  const gpu = ACCELERATORS[acceleratorType].resource;
  const labels = { ...labelsOf(name, i.attempt), [LABELS.acceleratorType]: acceleratorType, [LABELS.podRegion]: region };
  const [cmd, ...args] = renderCommand(i.trainer.command, placeholderValues(i.inputs));
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: jobName(name, i.attempt), namespace: ns, labels, ownerReferences: [ownerReference(i.owner)] },
    spec: {
      completionMode: 'Indexed',
      completions: nodes,
      parallelism: nodes,
      backoffLimit: 0,
      activeDeadlineSeconds: i.trainer.activeDeadlineSeconds,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          subdomain: serviceName(name),
          containers: [
            {
              name: 'trainer',
              image: i.trainer.image,
              ...(cmd !== undefined ? { command: [cmd] } : {}),
              args,
              env: contractEnv(i, ns),
              resources: { limits: { [gpu]: String(acceleratorCount) }, requests: { [gpu]: String(acceleratorCount) } },
              ports: [{ name: 'rendezvous', containerPort: i.trainer.masterPort }],
              volumeMounts: [
                { name: 'work', mountPath: WORK_DIR },
                { name: 'shm', mountPath: '/dev/shm' },
                { name: 'tmp', mountPath: '/tmp' },
              ],
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: true },
              // The trainer's last words (the contract: a one-line JSON report or an error) reach the status.
              terminationMessagePolicy: 'FallbackToLogsOnError',
            },
          ],
          volumes: [
            { name: 'work', emptyDir: {} },
            { name: 'shm', emptyDir: { medium: 'Memory' } },
            { name: 'tmp', emptyDir: {} },
          ],
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpressions: [{ key: REGION_LABEL, operator: 'In', values: [region] }, { key: ACCELERATOR_LABEL, operator: 'In', values: [acceleratorType] }] }],
              },
            },
          },
          tolerations: gpuTolerations(acceleratorType),
          securityContext: { runAsNonRoot: true, runAsUser: i.trainer.runAsUser, runAsGroup: i.trainer.runAsUser, fsGroup: i.trainer.runAsUser, seccompProfile: { type: 'RuntimeDefault' } },
          automountServiceAccountToken: false,
          enableServiceLinks: false,
        },
      },
    },
  };
}

/**
 * Where a Job made by makeTrainerJob runs, read back from it (its labels, its pods' GPU limit and
 * count): a retried pass keeps the Job that exists instead of placing the run again. Undefined if
 * the Job does not say (not one of ours).
 */
export function placementOfJob(j: V1Job): Placement | undefined {
  const acc = j.metadata?.labels?.[LABELS.acceleratorType] ?? '';
  const region = j.metadata?.labels?.[LABELS.podRegion];
  if (!isAcceleratorType(acc) || !region) return undefined;
  const limit = j.spec?.template.spec?.containers.find((c) => c.name === 'trainer')?.resources?.limits?.[ACCELERATORS[acc].resource];
  const acceleratorCount = Number(limit), nodes = j.spec?.completions ?? 1;
  return Number.isInteger(acceleratorCount) && acceleratorCount > 0 ? { acceleratorType: acc, acceleratorCount, nodes, region } : undefined;
}

/** Headless: pod DNS names for MASTER_ADDR; the rendezvous port only. */
export function makeService(owner: Owner): V1Service {
  const name = owner.metadata.name!;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: serviceName(name), namespace: owner.metadata.namespace!, labels: labelsOf(name), ownerReferences: [ownerReference(owner)] },
    spec: { clusterIP: 'None', selector: { [SFT_LABELS.job]: name }, publishNotReadyAddresses: true, ports: [{ name: 'rendezvous', port: 29500 }] },
  };
}

/** The trainer's token of an attempt (`src/crds/sft-trainer.ts`: the API checks it with the same key). */
export { trainerToken };

export function makeTokenSecret(owner: Owner, attempt: number, token: string): V1Secret {
  const name = owner.metadata.name!;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName(name, String(owner.metadata.uid ?? ''), attempt), namespace: owner.metadata.namespace!, labels: labelsOf(name, attempt), ownerReferences: [ownerReference(owner)] },
    type: 'Opaque',
    immutable: true,
    stringData: { [TOKEN_KEY]: token },
  };
}

/** The spec fields the Job depends on, for the status's record of what ran. */
export type TrainedSpec = Pick<SFTJobSpec, 'epochs' | 'loraRank'>;
