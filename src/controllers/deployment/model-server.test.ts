import { describe, expect, it } from 'vitest';
import type { AcceleratorType } from '../../fleet/catalog.js';
import {
  RUNTIME_LORA_ENV,
  buildModelServer,
  effectiveAcceleratorCount,
  loraArgs,
  minimumAcceleratorCount,
  modelSource,
  parseModelName,
  precisionArgs,
  resolveAcceleratorType,
  speculativeConfig,
  type ModelServer,
  type Checked,
} from './model-server.js';
import { DEFAULT_MODEL_SERVER_CONFIG as CONFIG, type ModelSource } from './model-server-config.js';
import { Precision, type DeploymentSpec, type DeploymentSpecInput } from '../../crds/deployment.js';
import { spec as specOf, uncheckedSpec } from './testing.js';

const LLAMA_8B = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const LLAMA_70B = 'accounts/fireworks/models/llama-v3p3-70b-instruct';
const LLAMA_405B = 'accounts/fireworks/models/llama-v3p1-405b-instruct';
const NVIDIA = CONFIG.servers.nvidia;

function value<T>(r: Checked<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.reason}: ${r.message}`);
  return r.value;
}

/** The value following a flag in an argument list. */
function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

describe('model names', () => {
  it.each([
    { name: LLAMA_8B, want: { account: 'fireworks', model: 'llama-v3p1-8b-instruct' } },
    { name: 'accounts/acme/models/my-ft', want: { account: 'acme', model: 'my-ft' } },
    { name: 'meta-llama/Llama-3.1-8B-Instruct', want: undefined },
    { name: 'accounts/acme/models/', want: undefined },
    { name: 'accounts/acme/datasets/x', want: undefined },
  ])('parseModelName($name)', ({ name, want }) => {
    expect(parseModelName(name)).toEqual(want);
  });

  it.each([
    { name: 'known Fireworks model → its Hugging Face repo', baseModel: LLAMA_8B, want: 'meta-llama/Llama-3.1-8B-Instruct' },
    { name: 'unknown model of an account → the model path template', baseModel: 'accounts/acme/models/my-ft', want: '/mnt/models/acme/my-ft' },
    { name: 'a Hugging Face id is loaded as is', baseModel: 'Qwen/Qwen3-8B', want: 'Qwen/Qwen3-8B' },
  ])('modelSource: $name', ({ baseModel, want }) => {
    expect(modelSource(baseModel, CONFIG).path).toBe(want);
  });
});

describe('accelerator type', () => {
  it.each([
    { spec: {}, want: 'NVIDIA_A100_80GB' },
    { spec: { acceleratorType: 'AMD_MI300X_192GB' }, want: 'AMD_MI300X_192GB' },
  ])('$spec → $want', ({ spec, want }) => {
    expect(value(resolveAcceleratorType(spec))).toBe(want);
  });

  it('reports types the API accepts but this fleet does not offer', () => {
    expect(resolveAcceleratorType({ acceleratorType: 'NVIDIA_B200_180GB' })).toMatchObject({
      ok: false,
      reason: 'UnsupportedAcceleratorType',
    });
  });
});

describe('effective accelerator count', () => {
  const src = (baseModel: string): ModelSource => modelSource(baseModel, CONFIG);
  it.each<{ name: string; spec: Partial<DeploymentSpecInput>; acc: AcceleratorType; model: string; want: number }>([
    { name: 'explicit count wins', spec: { acceleratorCount: 4 }, acc: 'NVIDIA_A100_80GB', model: LLAMA_8B, want: 4 },
    { name: 'explicit count wins over long prompt', spec: { acceleratorCount: 2, autoTune: { longPrompt: true } }, acc: 'NVIDIA_H100_80GB', model: LLAMA_70B, want: 2 },
    { name: '0 means unset', spec: { acceleratorCount: 0 }, acc: 'NVIDIA_A100_80GB', model: LLAMA_8B, want: 1 },
    { name: 'unknown size: the docs’ default of 1', spec: {}, acc: 'NVIDIA_A100_80GB', model: 'accounts/acme/models/x', want: 1 },
    { name: 'unknown size, long prompt: 2', spec: { autoTune: { longPrompt: true } }, acc: 'NVIDIA_A100_80GB', model: 'accounts/acme/models/x', want: 2 },
    { name: '8B FP16 on A100', spec: {}, acc: 'NVIDIA_A100_80GB', model: LLAMA_8B, want: 1 },
    { name: '8B long prompt doubles', spec: { autoTune: { longPrompt: true } }, acc: 'NVIDIA_A100_80GB', model: LLAMA_8B, want: 2 },
    { name: '70B FP16 on A100 (power of two)', spec: {}, acc: 'NVIDIA_A100_80GB', model: LLAMA_70B, want: 4 },
    { name: '70B FP8 on H100 halves the weights', spec: { precision: 'FP8' }, acc: 'NVIDIA_H100_80GB', model: LLAMA_70B, want: 2 },
    { name: '70B FP16 on H200', spec: {}, acc: 'NVIDIA_H200_141GB', model: LLAMA_70B, want: 2 },
    { name: '70B long prompt on A100', spec: { autoTune: { longPrompt: true } }, acc: 'NVIDIA_A100_80GB', model: LLAMA_70B, want: 8 },
    { name: '405B FP8 on H100 fills a node', spec: { precision: 'FP8' }, acc: 'NVIDIA_H100_80GB', model: LLAMA_405B, want: 8 },
    { name: '405B FP8 long prompt is capped at one node', spec: { precision: 'FP8', autoTune: { longPrompt: true } }, acc: 'NVIDIA_H100_80GB', model: LLAMA_405B, want: 8 },
  ])('$name → $want', ({ spec, acc, model, want }) => {
    const r = value(effectiveAcceleratorCount(spec, acc, src(model), 8));
    expect(r.count).toBe(want);
    expect(r.reason).toMatch(new RegExp(`^${want} GPUs?: `));
  });

  it('says why, for status', () => {
    expect(value(effectiveAcceleratorCount({ autoTune: { longPrompt: true } }, 'NVIDIA_A100_80GB', src(LLAMA_8B), 8)).reason).toBe(
      '2 GPUs: twice the minimum for 8B parameters on NVIDIA_A100_80GB (1 GPU) for longPrompt',
    );
  });

  it.each([
    { name: 'explicit count beyond one node', spec: { acceleratorCount: 16 }, model: LLAMA_8B, reason: 'TooManyAccelerators' },
    { name: '405B at 16 bits does not fit one node', spec: {}, model: LLAMA_405B, reason: 'ModelTooLarge' },
  ])('$name → $reason', ({ spec, model, reason }) => {
    expect(effectiveAcceleratorCount(spec, 'NVIDIA_H100_80GB', src(model), 8)).toMatchObject({ ok: false, reason });
  });

  it('minimum grows as memory shrinks', () => {
    const s = src(LLAMA_70B);
    expect(minimumAcceleratorCount(s, 'AMD_MI300X_192GB', undefined)).toBe(2);
    expect(minimumAcceleratorCount(s, 'NVIDIA_A100_80GB', 'NF4')).toBe(1);
  });
});

describe('precision', () => {
  const want: Record<Precision, string[] | 'UnsupportedPrecision'> = {
    FP16: ['--dtype', 'float16'],
    BF16: ['--dtype', 'bfloat16'],
    FP8: ['--quantization', 'fp8'],
    FP8_V2: ['--quantization', 'fp8'],
    FP8_MM: ['--quantization', 'fp8'],
    FP8_MM_V2: ['--quantization', 'fp8'],
    FP8_AR: ['--quantization', 'fp8'],
    FP8_KV: ['--quantization', 'fp8', '--kv-cache-dtype', 'fp8'],
    FP8_MM_KV_ATTN: ['--quantization', 'fp8', '--kv-cache-dtype', 'fp8'],
    FP8_MM_KV_ATTN_V2: ['--quantization', 'fp8', '--kv-cache-dtype', 'fp8'],
    NF4: ['--quantization', 'bitsandbytes'],
    FP4: 'UnsupportedPrecision',
    FP4_BLOCKSCALED_MM: 'UnsupportedPrecision',
    FP4_MX_MOE: 'UnsupportedPrecision',
  };
  it.each(Precision.options.map((p) => ({ p, want: want[p] })))('$p on H100 → $want', ({ p, want: w }) => {
    const r = precisionArgs(p, 'NVIDIA_H100_80GB', NVIDIA);
    if (typeof w === 'string') expect(r).toMatchObject({ ok: false, reason: w });
    else expect(value(r)).toEqual(w);
  });

  it('unset precision passes no flag (the checkpoint’s 16-bit dtype)', () => {
    expect(value(precisionArgs(undefined, 'NVIDIA_A100_80GB', NVIDIA))).toEqual([]);
  });

  it.each(['NVIDIA_A100_80GB', 'NVIDIA_H200_141GB', 'AMD_MI300X_192GB'] as const)('FP8 is refused on %s (docs: H100 only)', (acc) => {
    expect(precisionArgs('FP8', acc, NVIDIA)).toMatchObject({ ok: false, reason: 'UnsupportedPrecision' });
    expect(value(precisionArgs('BF16', acc, NVIDIA))).toEqual(['--dtype', 'bfloat16']);
  });
});

describe('speculative decoding', () => {
  it.each<{ name: string; spec: Partial<DeploymentSpecInput>; want: unknown }>([
    { name: 'off by default', spec: {}, want: undefined },
    {
      name: 'draft model → model + num_speculative_tokens',
      spec: { draftModel: 'accounts/fireworks/models/llama-v3p2-1b-instruct', draftTokenCount: 4 },
      want: { model: 'meta-llama/Llama-3.2-1B-Instruct', num_speculative_tokens: 4 },
    },
    {
      name: 'n-gram → method ngram, lookup length, token count',
      spec: { ngramSpeculationLength: 3, draftTokenCount: 5 },
      want: { method: 'ngram', prompt_lookup_max: 3, num_speculative_tokens: 5 },
    },
    {
      name: 'EAGLE draft heads name their method',
      spec: { draftModel: 'accounts/fireworks/models/eagle-llama-v3-8b-instruct-v2', draftTokenCount: 3 },
      want: { model: '/mnt/models/fireworks/eagle-llama-v3-8b-instruct-v2', num_speculative_tokens: 3, method: 'eagle' },
    },
    {
      name: 'EAGLE-3 draft',
      spec: { draftModel: 'RedHatAI/Qwen3-8B-speculator.eagle3', draftTokenCount: 3 },
      want: { model: 'RedHatAI/Qwen3-8B-speculator.eagle3', num_speculative_tokens: 3, method: 'eagle3' },
    },
    { name: 'draftTokenCount 0 turns speculation off', spec: { draftModel: 'accounts/fireworks/models/llama-v3p2-1b-instruct', draftTokenCount: 0 }, want: undefined },
    { name: 'empty draftModel disables', spec: { draftModel: '', draftTokenCount: 4 }, want: undefined },
    { name: 'token count alone does nothing', spec: { draftTokenCount: 4 }, want: undefined },
  ])('$name', ({ spec, want }) => {
    const r = value(speculativeConfig(spec, CONFIG));
    expect(r === undefined ? undefined : JSON.parse(r)).toEqual(want);
  });

  it.each<{ name: string; spec: Partial<DeploymentSpecInput>; message: RegExp }>([
    { name: 'draft model and n-gram together', spec: { draftModel: 'accounts/fireworks/models/llama-v3p2-1b-instruct', ngramSpeculationLength: 3, draftTokenCount: 4 }, message: /cannot be used together/ },
    { name: 'draft model without token count', spec: { draftModel: 'accounts/fireworks/models/llama-v3p2-1b-instruct' }, message: /draftTokenCount must be set when draftModel/ },
    { name: 'n-gram without token count', spec: { ngramSpeculationLength: 3 }, message: /draftTokenCount must be set when ngramSpeculationLength/ },
  ])('rejects $name', ({ spec, message }) => {
    const r = speculativeConfig(spec, CONFIG);
    expect(r).toMatchObject({ ok: false, reason: 'InvalidSpec' });
    expect(r.ok ? '' : r.message).toMatch(message);
  });
});

describe('LoRA', () => {
  it.each([
    { enableAddons: undefined, want: [] },
    { enableAddons: false, want: [] },
    { enableAddons: true, want: ['--enable-lora', '--max-loras', '8', '--max-lora-rank', '64', '--max-cpu-loras', '32'] },
  ])('enableAddons=$enableAddons', ({ enableAddons, want }) => {
    expect(loraArgs(enableAddons, CONFIG.lora)).toEqual(want);
  });

  it('enableHotReloadLatestAddon alone: runtime LoRA with one slot (the REST API and the DeployedModel controller accept one addon onto it)', () => {
    expect(loraArgs(undefined, CONFIG.lora, { enableHotReloadLatestAddon: true })).toEqual(['--enable-lora', '--max-loras', '1', '--max-lora-rank', '64', '--max-cpu-loras', '32']);
    expect(loraArgs(true, CONFIG.lora, { enableHotReloadLatestAddon: true, numPeftDeviceCached: 4 })).toEqual(['--enable-lora', '--max-loras', '4', '--max-lora-rank', '64', '--max-cpu-loras', '32']);
    const s = buildModelServer(specOf({ enableHotReloadLatestAddon: true }), CONFIG);
    if (!s.ok) throw new Error(s.message);
    expect(s.value.env).toContainEqual(RUNTIME_LORA_ENV);
    expect(s.value.args).toContain('--enable-lora');
  });

  it('--max-loras from the deployment’s numPeftDeviceCached; the CPU cache never smaller', () => {
    expect(loraArgs(true, CONFIG.lora, { numPeftDeviceCached: 4 })).toEqual(['--enable-lora', '--max-loras', '4', '--max-lora-rank', '64', '--max-cpu-loras', '32']);
    expect(loraArgs(true, CONFIG.lora, { numPeftDeviceCached: 64 })).toEqual(['--enable-lora', '--max-loras', '64', '--max-lora-rank', '64', '--max-cpu-loras', '64']);
    expect(loraArgs(true, CONFIG.lora, { numPeftDeviceCached: 0 })).toEqual(['--enable-lora', '--max-loras', '8', '--max-lora-rank', '64', '--max-cpu-loras', '32']);
  });
});

describe('buildModelServer', () => {
  const build = (spec: Partial<DeploymentSpecInput>): ModelServer => value(buildModelServer(specOf(spec), CONFIG));

  it('builds the whole command line for a plain deployment', () => {
    const s = build({});
    expect(s.template.image).toBe(NVIDIA.image);
    expect(s.acceleratorType).toBe('NVIDIA_A100_80GB');
    expect(s.acceleratorCount).toBe(1);
    expect(s.args).toEqual([
      'meta-llama/Llama-3.1-8B-Instruct',
      '--served-model-name',
      LLAMA_8B,
      '--host',
      '0.0.0.0',
      '--port',
      '8000',
      '--tensor-parallel-size',
      '1',
      // The CRD defaults precision to FP16, as the docs do.
      '--dtype',
      'float16',
    ]);
    expect(s.env).toEqual(NVIDIA.env);
  });

  it.each<{ name: string; spec: Partial<DeploymentSpecInput>; check: (s: ModelServer) => void }>([
    {
      name: 'tensor parallelism = acceleratorCount',
      spec: { acceleratorCount: 4 },
      check: (s) => expect(flag(s.args, '--tensor-parallel-size')).toBe('4'),
    },
    {
      name: 'long prompt doubles the tensor-parallel size',
      spec: { autoTune: { longPrompt: true } },
      check: (s) => {
        expect(s.acceleratorCount).toBe(2);
        expect(flag(s.args, '--tensor-parallel-size')).toBe('2');
      },
    },
    {
      name: 'max context length',
      spec: { maxContextLength: 32768 },
      check: (s) => expect(flag(s.args, '--max-model-len')).toBe('32768'),
    },
    {
      name: 'max context length 0 = model default',
      spec: { maxContextLength: 0 },
      check: (s) => expect(s.args).not.toContain('--max-model-len'),
    },
    {
      name: 'FP8 on H100',
      spec: { acceleratorType: 'NVIDIA_H100_80GB', precision: 'FP8' },
      check: (s) => expect(flag(s.args, '--quantization')).toBe('fp8'),
    },
    {
      name: 'speculative config as one JSON argument',
      spec: { ngramSpeculationLength: 4, draftTokenCount: 3 },
      check: (s) => expect(JSON.parse(flag(s.args, '--speculative-config') ?? '')).toEqual({ method: 'ngram', prompt_lookup_max: 4, num_speculative_tokens: 3 }),
    },
    {
      name: 'addons enable LoRA and runtime adapter loading',
      spec: { enableAddons: true },
      check: (s) => {
        expect(s.args).toContain('--enable-lora');
        expect(s.env).toContainEqual(RUNTIME_LORA_ENV);
      },
    },
    {
      name: 'AMD uses the ROCm image',
      spec: { acceleratorType: 'AMD_MI300X_192GB' },
      check: (s) => {
        expect(s.template.image).toBe(CONFIG.servers.amd.image);
        expect(s.template.supplementalGroups).toEqual([44]);
      },
    },
  ])('$name', ({ spec, check }) => {
    check(build(spec));
  });

  it('honours an operator template: --model flag style and extra arguments last', () => {
    const config = {
      ...CONFIG,
      servers: { ...CONFIG.servers, nvidia: { ...NVIDIA, modelArg: 'flag' as const, extraArgs: ['--enable-prefix-caching'] } },
    };
    const s = value(buildModelServer(specOf(), config));
    expect(s.args.slice(0, 2)).toEqual(['--model', 'meta-llama/Llama-3.1-8B-Instruct']);
    expect(s.args.at(-1)).toBe('--enable-prefix-caching');
  });

  it.each<{ name: string; spec: Partial<DeploymentSpec>; reason: string }>([
    { name: 'accelerator not in the fleet', spec: { acceleratorType: 'NVIDIA_L4_24GB' }, reason: 'UnsupportedAcceleratorType' },
    { name: 'MoE on MI300X (docs)', spec: { baseModel: 'accounts/fireworks/models/mixtral-8x7b-instruct', acceleratorType: 'AMD_MI300X_192GB' }, reason: 'UnsupportedModel' },
    { name: 'FP8 on A100', spec: { precision: 'FP8' }, reason: 'UnsupportedPrecision' },
    { name: 'FP4 on vLLM defaults', spec: { acceleratorType: 'NVIDIA_H100_80GB', precision: 'FP4' }, reason: 'UnsupportedPrecision' },
    { name: 'both speculation kinds', spec: { draftModel: LLAMA_8B, ngramSpeculationLength: 2, draftTokenCount: 2 }, reason: 'InvalidSpec' },
    { name: 'more GPUs than a node', spec: { acceleratorCount: 9 }, reason: 'TooManyAccelerators' },
  ])('refuses $name with $reason', ({ spec, reason }) => {
    // Some of these the CRD's rules already reject; the runtime checks again for objects that
    // predate a rule or a CRD installed without CEL.
    expect(buildModelServer(uncheckedSpec(spec), CONFIG)).toMatchObject({ ok: false, reason });
  });
});

describe('acceleratorType CPU: the operator CPU runtime', () => {
  const WITH_CPU = { ...CONFIG, servers: { ...CONFIG.servers, cpu: { ...CONFIG.servers.nvidia, image: 'registry.local/vllm-cpu:v1', cpu: '2', memory: '4Gi', nodeSelector: { 'hearth.dev/node-kind': 'cpu' }, tolerations: [], precisionArgs: { ...CONFIG.servers.nvidia.precisionArgs, NF4: null } } } };

  it('fails with UnsupportedAcceleratorType when the operator configured none', () => {
    const r = buildModelServer(specOf({ acceleratorType: 'CPU' }), CONFIG);
    expect(r).toEqual({ ok: false, reason: 'UnsupportedAcceleratorType', message: expect.stringContaining('servers.cpu') });
  });

  it("runs vLLM's command line on the CPU image: one process, no GPU, the model named as the gateway forwards it", () => {
    const s = value(buildModelServer(specOf({ acceleratorType: 'CPU', baseModel: LLAMA_8B, enableAddons: true }), WITH_CPU));
    expect(s).toMatchObject({ acceleratorType: 'CPU', acceleratorCount: 0, template: { image: 'registry.local/vllm-cpu:v1' } });
    expect(s.acceleratorCountReason).toBe('no accelerator: 2 CPU and 4Gi memory per replica on the CPU runtime');
    expect(s.args[0]).toBe('meta-llama/Llama-3.1-8B-Instruct');
    expect(flag(s.args, '--served-model-name')).toBe(LLAMA_8B);
    expect(flag(s.args, '--tensor-parallel-size')).toBe('1');
    expect(flag(s.args, '--dtype')).toBe('float16');
    expect(s.args).toContain('--enable-lora');
    expect(s.env).toContainEqual(RUNTIME_LORA_ENV);
  });

  it('refuses a precision the CPU runtime cannot serve', () => {
    const r = buildModelServer(specOf({ acceleratorType: 'CPU', precision: 'NF4' }), WITH_CPU);
    expect(r).toEqual({ ok: false, reason: 'UnsupportedPrecision', message: 'precision NF4 is not supported by the CPU runtime (use FP16 or BF16)' });
  });
});
