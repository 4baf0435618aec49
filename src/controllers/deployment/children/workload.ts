// The apps/v1 Deployment that runs a hearth.dev Deployment's model-server replicas. A pure function
// of (owner, resolved model server, replicas, region, pod settings): the reconciler applies the
// whole object every pass (server-side apply), so whatever this leaves out is released.
import type {
  V1Container,
  V1Deployment,
  V1PodSpec,
  V1PodTemplateSpec,
  V1Probe,
  V1Volume,
} from '@kubernetes/client-node';
import { ACCELERATORS, ACCELERATOR_LABEL, REGION_LABEL } from '../../../fleet/catalog.js';
import { MODEL_FILES_MOUNT } from '../../../fleet/lora.js';
import { gpuTolerations } from '../../../fleet/placement.js';

/** The tolerations a model-server pod carries (the vendor's GPU taint, as GPU nodes have it): shared with the trainer's pods. */
export { gpuTolerations };
import type { CpuModelServer, GpuModelServer, ModelServer } from '../model-server.js';
import type { WorkloadSettings } from '../model-server-config.js';
import { hashOf } from './hash.js';
import {
  ANNOTATION_TEMPLATE_HASH,
  LABEL_POD_ACCELERATOR,
  LABEL_POD_REGION,
  childLabels,
  selectorLabels,
} from './labels.js';
import * as names from './names.js';
import { ownerReference, type Owner } from '../../runtime/owner-refs.js';
import { CPU_ACCELERATOR_TYPE } from '../../../crds/deployment.js';
import { multiplyQuantity } from './quantity.js';

export const CONTAINER_NAME = 'model-server';
/** The sidecar that puts adapters' files into the model mount (pods that accept addons). */
export const MODEL_FILES_CONTAINER = 'model-files';
const MODEL_FILES_VOLUME = 'models';
export const PORT_NAME = 'http';
/** Writable mounts under a read-only root filesystem. */
export const CACHE_DIR = '/cache';
const PROBE_TIMEOUT_SECONDS = 10;
/** Readiness: out of the Service after 3 failed checks; liveness: restarted after 6. */
const READINESS_FAILURES = 3;
const LIVENESS_FAILURES = 6;
/** Slack past the startup budget before the apps/v1 Deployment reports ProgressDeadlineExceeded. */
const PROGRESS_SLACK_SECONDS = 600;

export interface WorkloadOptions {
  /** Desired replicas: the autoscaler's decision, clamped to quota by the reconciler. */
  replicas: number;
  /** The region the Deployment was placed in (from the spec, or chosen once at creation); none on CPU. */
  region: string | undefined;
  workload: WorkloadSettings;
}

/** Startup, readiness and liveness probes on the server's health path. */
export function probes(
  server: Pick<ModelServer, 'template'>,
  w: Pick<WorkloadSettings, 'startupTimeoutSeconds' | 'probePeriodSeconds'>,
): Pick<V1Container, 'startupProbe' | 'readinessProbe' | 'livenessProbe'> {
  const httpGet = { path: server.template.healthPath, port: PORT_NAME };
  const probe = (failureThreshold: number): V1Probe => ({
    httpGet,
    periodSeconds: w.probePeriodSeconds,
    timeoutSeconds: PROBE_TIMEOUT_SECONDS,
    failureThreshold,
  });
  return {
    // Model loads take minutes (download, shard, compile CUDA graphs): liveness and readiness wait
    // until the first success, for up to startupTimeoutSeconds.
    startupProbe: probe(Math.ceil(w.startupTimeoutSeconds / w.probePeriodSeconds)),
    readinessProbe: probe(READINESS_FAILURES),
    livenessProbe: probe(LIVENESS_FAILURES),
  };
}

function volumes(server: ModelServer, w: WorkloadSettings): V1Volume[] {
  const files = server.modelFiles;
  return [
    // Shared memory for tensor-parallel workers (NCCL/RCCL); the container default of 64Mi is too small.
    { name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: w.shmSizeLimit } },
    { name: 'cache', emptyDir: w.cacheSizeLimit ? { sizeLimit: w.cacheSizeLimit } : {} },
    { name: 'tmp', emptyDir: {} },
    // Adapters' files, written by the model-files sidecar, read by the model server.
    ...(files ? [{ name: MODEL_FILES_VOLUME, emptyDir: files.sizeLimit ? { sizeLimit: files.sizeLimit } : {} }] : []),
  ];
}

/** The restricted profile for a container (the pod sets non-root and seccomp). */
const restricted = (readOnlyRootFilesystem: boolean): V1Container['securityContext'] => ({
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  readOnlyRootFilesystem,
  runAsNonRoot: true,
});

/**
 * The `model-files` sidecar (Hearth's image, mode `model-files`): serves PUT/DELETE
 * /v1/model-files/{account}/{model} on the pod IP for the DeployedModel controller and fetches an
 * adapter's files from the Hearth API's signed download URLs into the shared model mount. No GPU
 * (the pod's GPU count and quota footprint stay the model server's), small requests.
 */
function modelFilesContainer(files: NonNullable<ModelServer['modelFiles']>): V1Container {
  const port = { name: MODEL_FILES_CONTAINER, port: files.port };
  return {
    name: MODEL_FILES_CONTAINER,
    image: files.image,
    args: ['model-files'],
    ports: [{ name: port.name, containerPort: files.port, protocol: 'TCP' }],
    env: [
      { name: 'HEARTH_MODEL_FILES_DIR', value: MODEL_FILES_MOUNT },
      { name: 'HEARTH_MODEL_FILES_HOST', value: '0.0.0.0' },
      { name: 'HEARTH_MODEL_FILES_PORT', value: String(files.port) },
      { name: 'HEARTH_MODEL_FILES_SOURCE_URL', value: files.sourceUrl },
    ],
    resources: { requests: { cpu: files.cpu, memory: files.memory }, limits: { memory: files.memory } },
    volumeMounts: [{ name: MODEL_FILES_VOLUME, mountPath: MODEL_FILES_MOUNT }],
    securityContext: restricted(true),
    readinessProbe: { httpGet: { path: '/healthz', port: port.name }, periodSeconds: 10, timeoutSeconds: PROBE_TIMEOUT_SECONDS },
    livenessProbe: { httpGet: { path: '/healthz', port: port.name }, periodSeconds: 10, timeoutSeconds: PROBE_TIMEOUT_SECONDS, failureThreshold: LIVENESS_FAILURES },
  };
}

/** GPUs (requests = limits: extended resources are never overcommitted), CPU and memory per accelerator. */
function gpuResources(server: GpuModelServer, w: WorkloadSettings): V1Container['resources'] {
  const gpu = ACCELERATORS[server.acceleratorType].resource;
  const n = server.acceleratorCount;
  const memory = multiplyQuantity(w.memoryPerAccelerator, n);
  return { requests: { cpu: multiplyQuantity(w.cpuPerAccelerator, n), memory, [gpu]: String(n) }, limits: { memory, [gpu]: String(n) } };
}

/** The CPU runtime's CPU and memory per replica; memory is also the limit. */
function cpuResources(server: CpuModelServer): V1Container['resources'] {
  const t = server.template;
  return { requests: { cpu: t.cpu, memory: t.memory }, limits: { memory: t.memory } };
}

function container(server: ModelServer, w: WorkloadSettings): V1Container {
  const t = server.template;
  return {
    name: CONTAINER_NAME,
    image: t.image,
    command: t.command,
    args: server.args,
    ports: [{ name: PORT_NAME, containerPort: t.port, protocol: 'TCP' }],
    env: server.env,
    resources: server.acceleratorType === CPU_ACCELERATOR_TYPE ? cpuResources(server) : gpuResources(server, w),
    volumeMounts: [
      { name: 'shm', mountPath: '/dev/shm' },
      { name: 'cache', mountPath: CACHE_DIR },
      { name: 'tmp', mountPath: '/tmp' },
      // The server only reads the adapters the sidecar wrote.
      ...(server.modelFiles ? [{ name: MODEL_FILES_VOLUME, mountPath: MODEL_FILES_MOUNT, readOnly: true }] : []),
    ],
    securityContext: restricted(t.readOnlyRootFilesystem),
    ...probes(server, w),
    // A model that fails to load says why in its last log lines; surface them in the pod status.
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

/**
 * Where a replica may run. GPUs: required, not preferred, node affinity on the region and the
 * accelerator (a replica on the wrong accelerator or region is worse than none), tolerating the
 * vendor's GPU taint. CPU: the CPU runtime's nodes and tolerations. kube-scheduler does the
 * binding; Hearth never sets nodeName.
 */
function placement(server: ModelServer, region: string | undefined): Pick<V1PodSpec, 'affinity' | 'nodeSelector' | 'tolerations'> {
  if (server.acceleratorType === CPU_ACCELERATOR_TYPE) {
    const t = server.template;
    return {
      ...(Object.keys(t.nodeSelector).length > 0 ? { nodeSelector: { ...t.nodeSelector } } : {}),
      ...(t.tolerations.length > 0 ? { tolerations: t.tolerations.map((x) => ({ ...x })) } : {}),
    };
  }
  if (region === undefined) throw new Error('a GPU model server needs a region');
  return {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: REGION_LABEL, operator: 'In', values: [region] },
                { key: ACCELERATOR_LABEL, operator: 'In', values: [server.acceleratorType] },
              ],
            },
          ],
        },
      },
    },
    tolerations: gpuTolerations(server.acceleratorType),
  };
}

function podSpec(server: ModelServer, region: string | undefined, w: WorkloadSettings): V1PodSpec {
  const t = server.template;
  return {
    containers: [container(server, w), ...(server.modelFiles ? [modelFilesContainer(server.modelFiles)] : [])],
    volumes: volumes(server, w),
    ...placement(server, region),
    // The restricted Pod Security Standard.
    securityContext: {
      runAsNonRoot: true,
      runAsUser: t.runAsUser,
      runAsGroup: t.runAsGroup,
      fsGroup: t.fsGroup,
      ...(t.supplementalGroups.length > 0 ? { supplementalGroups: t.supplementalGroups } : {}),
      seccompProfile: { type: 'RuntimeDefault' },
    },
    // The server never talks to the API server; and account namespaces hold many Services.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: w.terminationGracePeriodSeconds,
  };
}

/**
 * The pod template and its hash. The hash covers everything Hearth decides about a pod (image,
 * arguments, accelerator type and count, region, probes, security), so a change to any of them,
 * such as a new accelerator type, is a new template and rolls the pods; and the reconciler can tell
 * an up-to-date child from a stale one by comparing one annotation.
 */
export function podTemplate(
  dep: Pick<Owner, 'metadata'>,
  server: ModelServer,
  region: string | undefined,
  w: WorkloadSettings,
): { template: V1PodTemplateSpec; hash: string } {
  const labels = {
    ...childLabels(dep),
    [LABEL_POD_ACCELERATOR]: server.acceleratorType,
    ...(region !== undefined ? { [LABEL_POD_REGION]: region } : {}),
  };
  const spec = podSpec(server, region, w);
  const hash = hashOf({ labels, spec });
  return { template: { metadata: { labels, annotations: { [ANNOTATION_TEMPLATE_HASH]: hash } }, spec }, hash };
}

/** The apps/v1 Deployment of a hearth.dev Deployment. */
export function makeWorkload(
  dep: Owner,
  server: ModelServer,
  opts: WorkloadOptions,
): V1Deployment {
  const w = opts.workload;
  const { template, hash } = podTemplate(dep, server, opts.region, w);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: names.workload(dep),
      namespace: dep.metadata.namespace,
      labels: childLabels(dep),
      annotations: { [ANNOTATION_TEMPLATE_HASH]: hash },
      ownerReferences: [ownerReference(dep)],
    },
    spec: {
      replicas: opts.replicas,
      selector: { matchLabels: selectorLabels(dep) },
      // GPUs are scarce and quota counts them: by default never surge (a surge pod needs GPUs the
      // fleet or the quota may not have, and would sit Pending and stall the rollout). Replace one
      // replica at a time instead; maxSurge 1 trades that for zero-downtime where GPUs are spare.
      strategy: {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: w.maxSurge, maxUnavailable: w.maxSurge === 0 ? 1 : 0 },
      },
      // The default 600s would call every multi-minute model load a failed rollout.
      progressDeadlineSeconds: w.startupTimeoutSeconds + PROGRESS_SLACK_SECONDS,
      revisionHistoryLimit: w.revisionHistoryLimit,
      template,
    },
  };
}
