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
