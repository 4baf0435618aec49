import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { DEFAULT_MODEL_SERVER_CONFIG, ModelServerConfig, VLLM_VERSION, loadModelServerConfig } from './model-server-config.js';
import { Precision } from '../../crds/deployment.js';

describe('default model-server configuration', () => {
  it('is valid against its own schema', () => {
    expect(() => ModelServerConfig.parse(DEFAULT_MODEL_SERVER_CONFIG)).not.toThrow();
    expect(loadModelServerConfig(undefined)).toEqual(DEFAULT_MODEL_SERVER_CONFIG);
  });

  it('pins vLLM for NVIDIA and its ROCm build for AMD, same release, no :latest', () => {
    expect(DEFAULT_MODEL_SERVER_CONFIG.servers.nvidia.image).toBe(`vllm/vllm-openai:${VLLM_VERSION}`);
    expect(DEFAULT_MODEL_SERVER_CONFIG.servers.amd.image).toBe(`vllm/vllm-openai-rocm:${VLLM_VERSION}`);
    expect(VLLM_VERSION).toMatch(/^v\d+\.\d+\.\d+$/);
  });

  it('maps every Fireworks precision (null = not servable)', () => {
    for (const t of [DEFAULT_MODEL_SERVER_CONFIG.servers.nvidia, DEFAULT_MODEL_SERVER_CONFIG.servers.amd]) {
      expect(Object.keys(t.precisionArgs).sort()).toEqual([...Precision.options].sort());
    }
  });

  it('sizes the startup budget for multi-minute model loads', () => {
    expect(DEFAULT_MODEL_SERVER_CONFIG.workload.startupTimeoutSeconds).toBeGreaterThanOrEqual(30 * 60);
  });
});

describe('loadModelServerConfig', () => {
  it.each([
    {
      name: 'image override touches one vendor only',
      raw: { servers: { nvidia: { image: 'registry.local/vllm:v1' } } },
      check: (c: ModelServerConfig) => {
        expect(c.servers.nvidia.image).toBe('registry.local/vllm:v1');
        expect(c.servers.nvidia.command).toEqual(['vllm', 'serve']);
        expect(c.servers.amd).toEqual(DEFAULT_MODEL_SERVER_CONFIG.servers.amd);
      },
    },
    {
      name: 'one precision entry replaced, the rest kept',
      raw: { servers: { amd: { precisionArgs: { FP4: ['--quantization', 'mxfp4'] } } } },
      check: (c: ModelServerConfig) => {
        expect(c.servers.amd.precisionArgs.FP4).toEqual(['--quantization', 'mxfp4']);
        expect(c.servers.amd.precisionArgs.FP16).toEqual(['--dtype', 'float16']);
      },
    },
    {
      name: 'workload settings merged field by field',
      raw: { workload: { startupTimeoutSeconds: 3600, maxSurge: 1 } },
      check: (c: ModelServerConfig) => {
        expect(c.workload.startupTimeoutSeconds).toBe(3600);
        expect(c.workload.maxSurge).toBe(1);
        expect(c.workload.shmSizeLimit).toBe(DEFAULT_MODEL_SERVER_CONFIG.workload.shmSizeLimit);
      },
    },
    {
      name: 'models added to the defaults',
      raw: { models: { 'accounts/acme/models/mine': { path: 's3-mounted/mine', parametersB: 13 } } },
      check: (c: ModelServerConfig) => {
        expect(c.models['accounts/acme/models/mine']?.parametersB).toBe(13);
        expect(c.models['accounts/fireworks/models/deepseek-v3']).toBeDefined();
      },
    },
  ])('$name', ({ raw, check }) => {
    check(loadModelServerConfig(raw));
  });

  it.each([
    { name: 'unknown top-level key', raw: { runtime: {} } },
    { name: 'unknown vendor', raw: { servers: { intel: { image: 'x' } } } },
    { name: 'unknown template field', raw: { servers: { nvidia: { imag: 'x' } } } },
    { name: 'port out of range', raw: { servers: { nvidia: { port: 70000 } } } },
    { name: 'root user', raw: { servers: { amd: { runAsUser: 0 } } } },
    { name: 'startup budget under a minute', raw: { workload: { startupTimeoutSeconds: 30 } } },
    { name: 'surge of 2', raw: { workload: { maxSurge: 2 } } },
    { name: 'bad quantity', raw: { workload: { memoryPerAccelerator: 'lots' } } },
    { name: 'unknown precision', raw: { servers: { nvidia: { precisionArgs: { FP3: [] } } } } },
    { name: 'fewer CPU LoRA slots than GPU ones', raw: { lora: { maxLoras: 64, maxCpuLoras: 8 } } },
  ])('rejects $name with every issue listed', ({ raw }) => {
    expect(() => loadModelServerConfig(raw)).toThrow(ZodError);
  });
});

describe('the CPU runtime (servers.cpu)', () => {
  const CPU = { image: 'registry.local/vllm-cpu:v1', cpu: '4', memory: '16Gi', nodeSelector: { 'hearth.dev/node-kind': 'cpu' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'cpu', effect: 'NoSchedule' }] };
  const problems = (raw: unknown): string[] => {
    try {
      loadModelServerConfig(raw);
      return [];
    } catch (e) {
      if (!(e instanceof ZodError)) throw e;
      return e.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    }
  };

  it('is unset by default: no CPU image is assumed', () => {
    expect(DEFAULT_MODEL_SERVER_CONFIG.servers.cpu).toBeUndefined();
  });

  it("is the operator's fields over vLLM's command line, non-root, with 16- and 32-bit precisions only", () => {
    const c = loadModelServerConfig({ servers: { cpu: CPU } }).servers.cpu!;
    expect(c).toMatchObject({ ...CPU, engine: 'vllm', command: ['vllm', 'serve'], port: 8000, healthPath: '/health', runAsUser: 1000, readOnlyRootFilesystem: true });
    expect(c.precisionArgs.FP16).toEqual(['--dtype', 'float16']);
    expect(c.precisionArgs.BF16).toEqual(['--dtype', 'bfloat16']);
    expect(c.precisionArgs.FP8).toBeNull();
    expect(c.precisionArgs.NF4).toBeNull();
    // A later override changes one field of it.
    expect(loadModelServerConfig({ servers: { cpu: { memory: '8Gi' } } }, loadModelServerConfig({ servers: { cpu: CPU } })).servers.cpu).toMatchObject({ ...CPU, memory: '8Gi' });
  });

  it.each([
    { name: 'no image', raw: { cpu: '1', memory: '1Gi' }, want: ['servers.cpu.image: Invalid input: expected string, received undefined'] },
    { name: 'a bad quantity', raw: { ...CPU, cpu: 'four' }, want: ['servers.cpu.cpu: a Kubernetes quantity, e.g. 8, 500m, 64Gi'] },
    { name: 'a bad toleration effect', raw: { ...CPU, tolerations: [{ key: 'k', effect: 'Sometimes' }] }, want: [expect.stringMatching(/^servers\.cpu\.tolerations\.0\.effect: /)] },
    { name: 'a bad node label', raw: { ...CPU, nodeSelector: { 'bad key!': 'x' } }, want: ['servers.cpu.nodeSelector.bad key!: Invalid key in record'] },
    { name: 'root', raw: { ...CPU, runAsUser: 0 }, want: [expect.stringMatching(/^servers\.cpu\.runAsUser: /)] },
  ])('refuses $name, naming the field', ({ raw, want }) => {
    expect(problems({ servers: { cpu: raw } })).toEqual(want);
  });
});
