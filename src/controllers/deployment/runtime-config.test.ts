import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { DEFAULT_RUNTIME_CONFIG, RuntimeConfig, VLLM_VERSION, loadRuntimeConfig } from './runtime-config.js';
import { Precision } from '../../crds/deployment.js';

describe('default runtime configuration', () => {
  it('is valid against its own schema', () => {
    expect(() => RuntimeConfig.parse(DEFAULT_RUNTIME_CONFIG)).not.toThrow();
    expect(loadRuntimeConfig(undefined)).toEqual(DEFAULT_RUNTIME_CONFIG);
  });

  it('pins vLLM for NVIDIA and its ROCm build for AMD, same release, no :latest', () => {
    expect(DEFAULT_RUNTIME_CONFIG.runtimes.nvidia.image).toBe(`vllm/vllm-openai:${VLLM_VERSION}`);
    expect(DEFAULT_RUNTIME_CONFIG.runtimes.amd.image).toBe(`vllm/vllm-openai-rocm:${VLLM_VERSION}`);
    expect(VLLM_VERSION).toMatch(/^v\d+\.\d+\.\d+$/);
  });

  it('maps every Fireworks precision (null = not servable)', () => {
    for (const t of [DEFAULT_RUNTIME_CONFIG.runtimes.nvidia, DEFAULT_RUNTIME_CONFIG.runtimes.amd]) {
      expect(Object.keys(t.precisionArgs).sort()).toEqual([...Precision.options].sort());
    }
  });

  it('sizes the startup budget for multi-minute model loads', () => {
    expect(DEFAULT_RUNTIME_CONFIG.workload.startupTimeoutSeconds).toBeGreaterThanOrEqual(30 * 60);
  });
});

describe('loadRuntimeConfig', () => {
  it.each([
    {
      name: 'image override touches one vendor only',
      raw: { runtimes: { nvidia: { image: 'registry.local/vllm:v1' } } },
      check: (c: RuntimeConfig) => {
        expect(c.runtimes.nvidia.image).toBe('registry.local/vllm:v1');
        expect(c.runtimes.nvidia.command).toEqual(['vllm', 'serve']);
        expect(c.runtimes.amd).toEqual(DEFAULT_RUNTIME_CONFIG.runtimes.amd);
      },
    },
    {
      name: 'one precision entry replaced, the rest kept',
      raw: { runtimes: { amd: { precisionArgs: { FP4: ['--quantization', 'mxfp4'] } } } },
      check: (c: RuntimeConfig) => {
        expect(c.runtimes.amd.precisionArgs.FP4).toEqual(['--quantization', 'mxfp4']);
        expect(c.runtimes.amd.precisionArgs.FP16).toEqual(['--dtype', 'float16']);
      },
    },
    {
      name: 'workload settings merged field by field',
      raw: { workload: { startupTimeoutSeconds: 3600, maxSurge: 1 } },
      check: (c: RuntimeConfig) => {
        expect(c.workload.startupTimeoutSeconds).toBe(3600);
        expect(c.workload.maxSurge).toBe(1);
        expect(c.workload.shmSizeLimit).toBe(DEFAULT_RUNTIME_CONFIG.workload.shmSizeLimit);
      },
    },
    {
      name: 'models added to the defaults',
      raw: { models: { 'accounts/acme/models/mine': { path: 's3-mounted/mine', parametersB: 13 } } },
      check: (c: RuntimeConfig) => {
        expect(c.models['accounts/acme/models/mine']?.parametersB).toBe(13);
        expect(c.models['accounts/fireworks/models/deepseek-v3']).toBeDefined();
      },
    },
  ])('$name', ({ raw, check }) => {
    check(loadRuntimeConfig(raw));
  });

  it.each([
    { name: 'unknown top-level key', raw: { runtime: {} } },
    { name: 'unknown vendor', raw: { runtimes: { intel: { image: 'x' } } } },
    { name: 'unknown template field', raw: { runtimes: { nvidia: { imag: 'x' } } } },
    { name: 'port out of range', raw: { runtimes: { nvidia: { port: 70000 } } } },
    { name: 'root user', raw: { runtimes: { amd: { runAsUser: 0 } } } },
    { name: 'startup budget under a minute', raw: { workload: { startupTimeoutSeconds: 30 } } },
    { name: 'surge of 2', raw: { workload: { maxSurge: 2 } } },
    { name: 'bad quantity', raw: { workload: { memoryPerAccelerator: 'lots' } } },
    { name: 'unknown precision', raw: { runtimes: { nvidia: { precisionArgs: { FP3: [] } } } } },
    { name: 'fewer CPU LoRA slots than GPU ones', raw: { lora: { maxLoras: 64, maxCpuLoras: 8 } } },
  ])('rejects $name with every issue listed', ({ raw }) => {
    expect(() => loadRuntimeConfig(raw)).toThrow(ZodError);
  });
});
