import { describe, expect, it } from 'vitest';
import { checkModelFiles, describeProblems, modelFileNameProblem, type ModelFileExpectations } from './model-files.js';

/** A safetensors file: 8-byte header length, the JSON header, then the tensors' bytes. */
function safetensors(tensors: Record<string, { dtype: string; shape: number[] }>, opts: { truncate?: number; extra?: number } = {}): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let at = 0;
  const sizes = { F32: 4, F16: 2, BF16: 2, I64: 8 } as Record<string, number>;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = t.shape.reduce((a, d) => a * d, 1) * (sizes[t.dtype] ?? 1);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + bytes] };
    at += bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const file = Buffer.concat([len, json, Buffer.alloc(at + (opts.extra ?? 0), 7)]);
  return opts.truncate ? file.subarray(0, file.length - opts.truncate) : file;
}

const LORA = safetensors({
  'base_model.model.layers.0.self_attn.q_proj.lora_A.weight': { dtype: 'F32', shape: [8, 16] },
  'base_model.model.layers.0.self_attn.q_proj.lora_B.weight': { dtype: 'F32', shape: [16, 8] },
});
const ADAPTER_CONFIG = Buffer.from(JSON.stringify({ peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'], base_model_name_or_path: 'meta-llama/Llama-3.1-8B' }));

async function check(files: Record<string, Buffer>, want: ModelFileExpectations) {
  const sizes = new Map(Object.entries(files).map(([k, v]) => [k, v.length]));
  const reads: string[] = [];
  const report = await checkModelFiles(sizes, async (name, range) => {
    reads.push(range ? `${name}[${range.start}-${range.end}]` : name);
    const b = files[name]!;
    return range ? b.subarray(range.start, range.end + 1) : b;
  }, want);
  return { ...report, reasons: report.problems.map((p) => `${p.file} ${p.reason}`), reads };
}

const adapter: ModelFileExpectations = { kind: 'HF_PEFT_ADDON', peft: { r: 8, targetModules: ['q_proj'] } };

describe('checkModelFiles: adapters', () => {
  it('accepts adapter_config.json with safetensors weights, reading only the safetensors header', async () => {
    const r = await check({ 'adapter_config.json': ADAPTER_CONFIG, 'adapter_model.safetensors': LORA, 'README.md': Buffer.from('# hi') }, adapter);
    expect(r.problems).toEqual([]);
    expect(r.warnings).toEqual([]);
    // The header length, then the header: never the tensor data.
    expect(r.reads.filter((x) => x.startsWith('adapter_model'))).toEqual([`adapter_model.safetensors[0-7]`, expect.stringMatching(/^adapter_model\.safetensors\[8-\d+\]$/)]);
  });

  it('accepts .bin weights (the zip container torch.save writes)', async () => {
    const bin = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(100)]);
    expect((await check({ 'adapter_config.json': ADAPTER_CONFIG, 'adapter_model.bin': bin }, adapter)).problems).toEqual([]);
    expect((await check({ 'adapter_config.json': ADAPTER_CONFIG, 'adapter_model.bin': Buffer.from('<html>not weights') }, adapter)).reasons).toEqual(['adapter_model.bin INVALID']);
  });

  it('names each missing file', async () => {
    expect((await check({ 'adapter_model.safetensors': LORA }, adapter)).reasons).toEqual(['adapter_config.json MISSING']);
    const r = await check({ 'adapter_config.json': ADAPTER_CONFIG }, adapter);
    expect(r.reasons).toEqual(['adapter_model.safetensors | adapter_model.bin MISSING']);
    expect(describeProblems(r.problems)).toMatch(/adapter_model\.safetensors \| adapter_model\.bin: adapter weights are required/);
  });

  it('names an invalid config: not JSON, not an object, no rank, no target modules, a rank other than the model says', async () => {
    const w = { 'adapter_model.safetensors': LORA };
    expect((await check({ ...w, 'adapter_config.json': Buffer.from('{"r": 8,') }, adapter)).problems[0]).toMatchObject({ file: 'adapter_config.json', reason: 'INVALID', description: expect.stringMatching(/not valid JSON/) });
    expect((await check({ ...w, 'adapter_config.json': Buffer.from('[1]') }, adapter)).problems[0]?.description).toMatch(/JSON object/);
    expect((await check({ ...w, 'adapter_config.json': Buffer.from('{"target_modules":["q_proj"]}') }, adapter)).problems[0]?.description).toMatch(/"r"/);
    expect((await check({ ...w, 'adapter_config.json': Buffer.from('{"r":8}') }, adapter)).problems[0]?.description).toMatch(/target_modules/);
    expect((await check({ ...w, 'adapter_config.json': Buffer.from('{"r":16,"target_modules":"q_proj"}') }, adapter)).problems[0]?.description).toMatch(/"r" to 16, but the model's peftDetails.r is 8/);
    expect((await check({ ...w, 'adapter_config.json': Buffer.from('{"r":8,"target_modules":["q_proj"],"peft_type":"IA3"}') }, adapter)).problems[0]?.description).toMatch(/only LORA/);
    expect((await check({ ...w, 'adapter_config.json': Buffer.alloc(0) }, adapter)).reasons).toEqual(['adapter_config.json EMPTY']);
  });

  it('warns (without failing) when the config lacks a module peftDetails names', async () => {
    const r = await check({ 'adapter_config.json': ADAPTER_CONFIG, 'adapter_model.safetensors': LORA }, { kind: 'HF_PEFT_ADDON', peft: { targetModules: ['q_proj', 'o_proj'] } });
    expect(r.problems).toEqual([]);
    expect(r.warnings).toEqual(['adapter_config.json: target_modules lacks o_proj named in peftDetails.targetModules']);
  });

  it('finds truncated, padded and malformed safetensors', async () => {
    const cfg = { 'adapter_config.json': ADAPTER_CONFIG };
    const bad = async (b: Buffer) => (await check({ ...cfg, 'adapter_model.safetensors': b }, adapter)).problems.map((p) => p.description);
    expect(await bad(LORA.subarray(0, LORA.length - 10))).toEqual([expect.stringMatching(/truncated/)]);
    expect(await bad(safetensors({ a: { dtype: 'F32', shape: [2] } }, { extra: 4 }))).toEqual([expect.stringMatching(/cover 8 bytes of a 12-byte data section/)]);
    expect(await bad(Buffer.from([1, 2, 3]))).toEqual([expect.stringMatching(/fewer than the 8-byte header length/)]);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(1000n);
    expect(await bad(Buffer.concat([len, Buffer.from('{}')]))).toEqual([expect.stringMatching(/runs past the end/)]);
    len.writeBigUInt64LE(5n);
    expect(await bad(Buffer.concat([len, Buffer.from('{bad}')]))).toEqual([expect.stringMatching(/header is not JSON/)]);
    expect(await bad(safetensors({}))).toEqual([expect.stringMatching(/no tensors/)]);
    const wrongDtype = Buffer.from(JSON.stringify({ a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }));
    len.writeBigUInt64LE(BigInt(wrongDtype.length));
    expect(await bad(Buffer.concat([len, wrongDtype, Buffer.alloc(1)]))).toEqual([expect.stringMatching(/unknown dtype "Q4"/)]);
    const wrongSize = Buffer.from(JSON.stringify({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }));
    len.writeBigUInt64LE(BigInt(wrongSize.length));
    expect(await bad(Buffer.concat([len, wrongSize, Buffer.alloc(8)]))).toEqual([expect.stringMatching(/needs 12 bytes but data_offsets give 8/)]);
  });

  it('checks declared sizes: a file not uploaded, a file of another size', async () => {
    const r = await check(
      { 'adapter_config.json': ADAPTER_CONFIG, 'adapter_model.safetensors': LORA },
      { ...adapter, declared: { 'adapter_config.json': ADAPTER_CONFIG.length + 1, 'adapter_model.safetensors': LORA.length, 'tokenizer.json': 10 } },
    );
    expect(r.reasons).toEqual(['adapter_config.json SIZE_MISMATCH', 'tokenizer.json MISSING']);
  });

  it('an empty upload names what to do', async () => {
    expect((await check({}, adapter)).problems).toEqual([{ file: '(files)', reason: 'MISSING', description: expect.stringMatching(/:getUploadEndpoint/) }]);
  });
});

describe('checkModelFiles: base models', () => {
  const config = Buffer.from(JSON.stringify({ model_type: 'llama', architectures: ['LlamaForCausalLM'] }));
  const tokenizer = Buffer.from(JSON.stringify({ version: '1.0', model: { type: 'BPE' } }));
  const weights = safetensors({ 'model.embed_tokens.weight': { dtype: 'BF16', shape: [32, 8] } });
  const base: ModelFileExpectations = { kind: 'HF_BASE_MODEL' };

  it('accepts config, tokenizer and single-file weights', async () => {
    expect((await check({ 'config.json': config, 'tokenizer.json': tokenizer, 'model.safetensors': weights }, base)).problems).toEqual([]);
    expect((await check({ 'config.json': config, 'vocab.json': Buffer.from('{}'), 'merges.txt': Buffer.from('a b'), 'model.safetensors': weights }, base)).problems).toEqual([]);
  });

  it('accepts sharded weights named by an index, and names a missing shard', async () => {
    const index = Buffer.from(JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }));
    const files = { 'config.json': config, 'tokenizer.model': Buffer.from('spm'), 'model.safetensors.index.json': index, 'model-00001-of-00002.safetensors': weights };
    expect((await check(files, base)).reasons).toEqual(['model-00002-of-00002.safetensors MISSING']);
    expect((await check({ ...files, 'model-00002-of-00002.safetensors': weights }, base)).problems).toEqual([]);
  });

  it('names a missing config, tokenizer and weights', async () => {
    expect((await check({ 'README.md': Buffer.from('x') }, base)).reasons).toEqual([
      'config.json MISSING',
      'tokenizer.json | tokenizer.model | vocab.json+merges.txt MISSING',
      'model.safetensors | pytorch_model.bin | *.index.json MISSING',
    ]);
    expect((await check({ 'config.json': Buffer.from('{"hidden_size": 1}'), 'tokenizer.json': tokenizer, 'model.safetensors': weights }, base)).problems[0]?.description).toMatch(/model_type/);
  });
});

describe('checkModelFiles: other kinds', () => {
  it('stores files of kinds it has no rules for, with a warning', async () => {
    const r = await check({ 'weights.bin': Buffer.from('x') }, { kind: 'FLUMINA_ADDON' });
    expect(r.problems).toEqual([]);
    expect(r.warnings).toEqual(['files of kind FLUMINA_ADDON are stored as uploaded; their layout is not checked']);
  });
});

describe('modelFileNameProblem', () => {
  it('takes plain names and relative paths, refuses what could escape or alias', () => {
    for (const ok of ['config.json', 'original/params.json', 'a b.txt']) expect(modelFileNameProblem(ok)).toBeUndefined();
    for (const bad of ['', '../x', 'a//b', './a', '/abs', 'a\\b', 'a\u0000b', `${'x'.repeat(256)}`]) expect(modelFileNameProblem(bad), JSON.stringify(bad)).toBeDefined();
  });
});
