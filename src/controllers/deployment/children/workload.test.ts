import type { V1Container, V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ACCELERATOR_LABEL, REGION_LABEL, type AcceleratorType } from '../../../fleet/catalog.js';
import { buildModelServer, type ModelServer } from '../model-server.js';
import { DEFAULT_MODEL_SERVER_CONFIG as CONFIG } from '../model-server-config.js';
import type { DeploymentSpecInput } from '../../../crds/deployment.js';
import { hearthDeployment, spec as specOf } from '../testing.js';
import { ANNOTATION_TEMPLATE_HASH } from './labels.js';
import { podGpus } from '../../../fleet/gpus.js';
import { MODEL_FILES_MOUNT, MODEL_FILES_PORT } from '../../../fleet/lora.js';
import { ModelFilesSidecar, loadModelServerConfig } from '../model-server-config.js';
import { MODEL_FILES_CONTAINER, gpuTolerations, makeWorkload } from './workload.js';

const W = CONFIG.workload;

function server(spec: Partial<DeploymentSpecInput> = {}): ModelServer {
  const r = buildModelServer(specOf(spec), CONFIG);
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

function build(
  spec: Partial<DeploymentSpecInput> = {},
  opts: Partial<{ replicas: number; region: string; workload: typeof W }> = {},
): V1Deployment {
  return makeWorkload(hearthDeployment(spec), server(spec), { replicas: 2, region: 'US_ILLINOIS_2', workload: W, ...opts });
}

function main(d: V1Deployment): V1Container {
  const c = d.spec?.template.spec?.containers[0];
  if (!c) throw new Error('no container');
  return c;
}

describe('makeWorkload', () => {
  it('is owned by the hearth.dev Deployment as its controller', () => {
    const d = build();
    expect(d.apiVersion).toBe('apps/v1');
    expect(d.kind).toBe('Deployment');
    expect(d.metadata?.name).toBe('chat-server');
    expect(d.metadata?.namespace).toBe('acct-acme');
    expect(d.metadata?.ownerReferences).toEqual([
      {
        apiVersion: 'hearth.dev/v1alpha1',
        kind: 'Deployment',
        name: 'chat',
        uid: '0b5c6a1e-0000-4000-8000-000000000001',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });

  it('labels the object and its pods; selects on labels that never change', () => {
    const d = build();
    const want = {
      'app.kubernetes.io/name': 'model-server',
      'app.kubernetes.io/managed-by': 'hearth',
      'hearth.dev/deployment': 'chat',
    };
    expect(d.metadata?.labels).toMatchObject(want);
    expect(d.spec?.template.metadata?.labels).toMatchObject({
      ...want,
      'hearth.dev/accelerator-type': 'NVIDIA_A100_80GB',
      'hearth.dev/region': 'US_ILLINOIS_2',
    });
    expect(d.spec?.selector.matchLabels).toEqual({ 'app.kubernetes.io/managed-by': 'hearth', 'hearth.dev/deployment': 'chat' });
    // The selector must match the pods.
    expect(d.spec?.template.metadata?.labels).toMatchObject(d.spec?.selector.matchLabels ?? { none: 'x' });
  });

  it.each([0, 1, 7])('runs the desired replica count (%d)', (replicas) => {
    expect(build({}, { replicas }).spec?.replicas).toBe(replicas);
  });

  it.each<{ name: string; spec: Partial<DeploymentSpecInput>; resource: string; count: string; cpu: string; memory: string }>([
    { name: 'NVIDIA, count from the spec', spec: { acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 4 }, resource: 'nvidia.com/gpu', count: '4', cpu: '32', memory: '256Gi' },
    { name: 'AMD', spec: { acceleratorType: 'AMD_MI300X_192GB', acceleratorCount: 2 }, resource: 'amd.com/gpu', count: '2', cpu: '16', memory: '128Gi' },
    { name: 'default A100, 1 GPU', spec: {}, resource: 'nvidia.com/gpu', count: '1', cpu: '8', memory: '64Gi' },
  ])('requests acceleratorCount of the vendor resource: $name', ({ spec, resource, count, cpu, memory }) => {
    const r = main(build(spec)).resources;
    expect(r?.requests).toEqual({ cpu, memory, [resource]: count });
    expect(r?.limits).toEqual({ memory, [resource]: count });
  });

  it.each<{ acc: AcceleratorType; region: string; taint: string }>([
    { acc: 'NVIDIA_H100_80GB', region: 'US_VIRGINIA_2', taint: 'nvidia.com/gpu' },
    { acc: 'AMD_MI300X_192GB', region: 'US_VIRGINIA_2', taint: 'amd.com/gpu' },
    { acc: 'NVIDIA_H200_141GB', region: 'EU_PARIS_1', taint: 'nvidia.com/gpu' },
  ])('requires $region and $acc, tolerates the $taint taint', ({ acc, region, taint }) => {
    const pod = build({ acceleratorType: acc }, { region }).spec?.template.spec;
    expect(pod?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([
      {
        matchExpressions: [
          { key: REGION_LABEL, operator: 'In', values: [region] },
          { key: ACCELERATOR_LABEL, operator: 'In', values: [acc] },
        ],
      },
    ]);
    expect(pod?.tolerations).toEqual([{ key: taint, operator: 'Equal', value: 'present', effect: 'NoSchedule' }]);
    expect(pod?.nodeName).toBeUndefined();
    expect(pod?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
  });

  it('runs under the restricted pod security profile', () => {
    const pod = build().spec?.template.spec;
    expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(main(build()).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
    });
    for (const c of pod?.containers ?? []) expect(c.securityContext?.privileged).toBeUndefined();
    // Only emptyDir volumes: allowed by every profile.
    for (const v of pod?.volumes ?? []) expect(Object.keys(v).sort()).toEqual(['emptyDir', 'name']);
  });

  it('gives tensor parallelism a memory-backed /dev/shm and the read-only root writable caches', () => {
    const d = build({ acceleratorCount: 4 });
    expect(d.spec?.template.spec?.volumes).toContainEqual({ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: W.shmSizeLimit } });
    const mounts = Object.fromEntries((main(d).volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
    expect(mounts).toEqual({ '/dev/shm': 'shm', '/cache': 'cache', '/tmp': 'tmp' });
    expect(main(d).env).toContainEqual({ name: 'HOME', value: '/cache' });
    expect(main(d).env).toContainEqual({ name: 'HF_HOME', value: '/cache/huggingface' });
  });

  it('sizes the startup probe for a 30-minute model load, then probes readiness and liveness', () => {
    const c = main(build());
    const s = c.startupProbe;
    expect(s?.httpGet).toEqual({ path: '/health', port: 'http' });
    expect((s?.failureThreshold ?? 0) * (s?.periodSeconds ?? 0)).toBeGreaterThanOrEqual(30 * 60);
    expect(c.readinessProbe?.httpGet?.path).toBe('/health');
    expect(c.livenessProbe?.httpGet?.path).toBe('/health');
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8000, protocol: 'TCP' }]);
  });

  it('does not call a slow model load a failed rollout', () => {
    expect(build().spec?.progressDeadlineSeconds).toBeGreaterThan(W.startupTimeoutSeconds);
  });

  it.each([
    { maxSurge: 0, want: { maxSurge: 0, maxUnavailable: 1 } },
    { maxSurge: 1, want: { maxSurge: 1, maxUnavailable: 0 } },
  ])('rolls without asking for spare GPUs unless configured: maxSurge $maxSurge', ({ maxSurge, want }) => {
    const d = build({}, { workload: { ...W, maxSurge } });
    expect(d.spec?.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: want });
  });

  it('runs the runtime’s image, command and arguments', () => {
    const s = server({ acceleratorType: 'AMD_MI300X_192GB' });
    const c = main(makeWorkload(hearthDeployment(), s, { replicas: 1, region: 'US_VIRGINIA_2', workload: W }));
    expect(c.image).toBe(CONFIG.servers.amd.image);
    expect(c.command).toEqual(['vllm', 'serve']);
    expect(c.args).toEqual(s.args);
    expect(c.env).toEqual(s.env);
  });

  describe('template hash', () => {
    const hash = (d: V1Deployment): string | undefined => d.spec?.template.metadata?.annotations?.[ANNOTATION_TEMPLATE_HASH];

    it('is on the object and its pod template, and stable', () => {
      const d = build();
      expect(hash(d)).toMatch(/^[0-9a-f]{16}$/);
      expect(d.metadata?.annotations?.[ANNOTATION_TEMPLATE_HASH]).toBe(hash(d));
      expect(hash(build())).toBe(hash(d));
    });

    it('does not change with the replica count (scaling is not a rollout)', () => {
      expect(hash(build({}, { replicas: 5 }))).toBe(hash(build({}, { replicas: 1 })));
    });

    it.each<{ name: string; spec: Partial<DeploymentSpecInput>; region?: string }>([
      { name: 'accelerator type', spec: { acceleratorType: 'NVIDIA_H100_80GB' }, region: 'US_ILLINOIS_2' },
      { name: 'accelerator count', spec: { acceleratorCount: 2 } },
      { name: 'precision', spec: { precision: 'BF16' } },
      { name: 'addons', spec: { enableAddons: true } },
      { name: 'region', spec: {}, region: 'US_VIRGINIA_2' },
    ])('changes with the $name, which rolls the pods', ({ spec, region }) => {
      expect(hash(build(spec, region ? { region } : {}))).not.toBe(hash(build()));
    });
  });

  it('exposes the GPU toleration the nodes need', () => {
    expect(gpuTolerations('AMD_MI300X_192GB')).toEqual([{ key: 'amd.com/gpu', operator: 'Equal', value: 'present', effect: 'NoSchedule' }]);
  });

  describe('the model-files sidecar (deployments with addons, when configured)', () => {
    const files = ModelFilesSidecar.parse({ image: 'ghcr.io/hearth-dev/hearth:1.2.3', sourceUrl: 'http://hearth-api.hearth-system.svc:8080' });
    const withFiles = loadModelServerConfig({ modelFiles: files });
    const buildWith = (spec: Partial<DeploymentSpecInput>): V1Deployment => {
      const r = buildModelServer(specOf(spec), withFiles);
      if (!r.ok) throw new Error(r.message);
      return makeWorkload(hearthDeployment(spec), r.value, { replicas: 2, region: 'US_ILLINOIS_2', workload: W });
    };
    const sidecar = (d: V1Deployment): V1Container | undefined => d.spec?.template.spec?.containers.find((c) => c.name === MODEL_FILES_CONTAINER);

    it('shares an emptyDir at /mnt/models: written by the sidecar, read-only for the model server', () => {
      const pod = buildWith({ enableAddons: true, acceleratorCount: 2 }).spec?.template.spec;
      expect(pod?.volumes).toContainEqual({ name: 'models', emptyDir: {} });
      expect(pod?.containers.map((c) => c.name)).toEqual(['model-server', MODEL_FILES_CONTAINER]);
      expect(pod?.containers[0]?.volumeMounts).toContainEqual({ name: 'models', mountPath: MODEL_FILES_MOUNT, readOnly: true });
      const c = pod?.containers[1];
      expect(c?.volumeMounts).toEqual([{ name: 'models', mountPath: MODEL_FILES_MOUNT }]);
      expect(c?.image).toBe('ghcr.io/hearth-dev/hearth:1.2.3');
      expect(c?.args).toEqual(['model-files']);
      expect(c?.ports).toEqual([{ name: MODEL_FILES_CONTAINER, containerPort: MODEL_FILES_PORT, protocol: 'TCP' }]);
      expect(c?.env).toEqual([
        { name: 'HEARTH_MODEL_FILES_DIR', value: MODEL_FILES_MOUNT },
        { name: 'HEARTH_MODEL_FILES_HOST', value: '0.0.0.0' },
        { name: 'HEARTH_MODEL_FILES_PORT', value: String(MODEL_FILES_PORT) },
        { name: 'HEARTH_MODEL_FILES_SOURCE_URL', value: 'http://hearth-api.hearth-system.svc:8080' },
      ]);
    });

    it('runs restricted: non-root, no privilege escalation, no capabilities, read-only root; only emptyDir volumes', () => {
      const pod = buildWith({ enableAddons: true }).spec?.template.spec;
      expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(sidecar(buildWith({ enableAddons: true }))?.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: true });
      for (const v of pod?.volumes ?? []) expect(Object.keys(v).sort()).toEqual(['emptyDir', 'name']);
    });

    it('asks for no GPU and little else: the pod\'s GPU count (quota footprint) is the model server\'s', () => {
      for (const acceleratorCount of [1, 2, 8]) {
        const spec = { enableAddons: true, acceleratorCount };
        const plain = build(spec);
        const pod = buildWith(spec);
        expect(podGpus(pod.spec!.template)).toBe(acceleratorCount);
        expect(podGpus(pod.spec!.template)).toBe(podGpus(plain.spec!.template));
        expect(podGpus(pod.spec!.template, 'amd.com/gpu') + podGpus(pod.spec!.template, 'nvidia.com/gpu')).toBe(acceleratorCount);
      }
      expect(sidecar(buildWith({ enableAddons: true }))?.resources).toEqual({ requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '128Mi' } });
    });

    it('a hot-reload deployment (one addon at a time) gets it too', () => {
      expect(sidecar(buildWith({ enableHotReloadLatestAddon: true }))?.name).toBe(MODEL_FILES_CONTAINER);
    });

    it('is not added without addons, nor when the operator configured none (pods unchanged)', () => {
      expect(sidecar(buildWith({}))).toBeUndefined();
      expect(buildWith({}).spec?.template.spec?.volumes?.map((v) => v.name)).toEqual(['shm', 'cache', 'tmp']);
      expect(buildWith({})).toEqual(build({}));
      expect(sidecar(build({ enableAddons: true }))).toBeUndefined();
    });

    it('a second build changes nothing (same hash: no rollout)', () => {
      const a = buildWith({ enableAddons: true });
      const b = buildWith({ enableAddons: true });
      expect(b).toEqual(a);
      expect(b.metadata?.annotations?.[ANNOTATION_TEMPLATE_HASH]).toBe(a.metadata?.annotations?.[ANNOTATION_TEMPLATE_HASH]);
    });

    it('a source URL that is not http(s) is refused by the schema', () => {
      expect(() => ModelFilesSidecar.parse({ image: 'x', sourceUrl: 'file:///etc' })).toThrow();
    });
  });
});

describe('makeWorkload on the CPU runtime (acceleratorType CPU)', () => {
  const TOLERATION = { key: 'hearth.dev/real-node', operator: 'Equal', value: 'true', effect: 'NoSchedule' };
  const config = loadModelServerConfig({
    servers: { cpu: { image: 'registry.local/vllm-cpu:v1', cpu: '500m', memory: '1Gi', nodeSelector: { 'hearth.dev/node-kind': 'cpu' }, tolerations: [TOLERATION] } },
  });
  const cpuServer = (() => {
    const r = buildModelServer(specOf({ acceleratorType: 'CPU' }), config);
    if (!r.ok) throw new Error(r.message);
    return r.value;
  })();
  const d = makeWorkload(hearthDeployment({ acceleratorType: 'CPU' }), cpuServer, { replicas: 1, region: undefined, workload: config.workload });
  const pod = d.spec?.template.spec;

  it("asks for the runtime's CPU and memory and no GPU", () => {
    expect(main(d).image).toBe('registry.local/vllm-cpu:v1');
    expect(main(d).resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '1Gi' } });
    expect(podGpus({ spec: pod })).toBe(0);
  });

  it("runs only on the runtime's nodes, tolerating their taints, in no region and on no GPU node", () => {
    expect(pod?.nodeSelector).toEqual({ 'hearth.dev/node-kind': 'cpu' });
    expect(pod?.tolerations).toEqual([TOLERATION]);
    expect(pod?.affinity).toBeUndefined();
    expect(d.spec?.template.metadata?.labels?.[ACCELERATOR_LABEL]).toBe('CPU');
    expect(d.spec?.template.metadata?.labels?.[REGION_LABEL]).toBeUndefined();
  });

  it('keeps the restricted profile and the probes on the health path', () => {
    expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(main(d).securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: true });
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(main(d).readinessProbe?.httpGet).toEqual({ path: '/health', port: 'http' });
  });
});
