// What a model's uploaded files must be, by kind, checked before the model becomes READY:
//
// - an adapter (HF_PEFT_ADDON, HF_TEFT_ADDON): `adapter_config.json` (a JSON object with a LoRA
//   rank `r` and `target_modules`) and weights, `adapter_model.safetensors` or `adapter_model.bin`;
// - a base model (HF_BASE_MODEL): `config.json` (JSON with `model_type` or `architectures`), a
//   tokenizer (`tokenizer.json`, `tokenizer.model`, or `vocab.json` + `merges.txt`) and weights
//   (`model.safetensors`, `pytorch_model.bin`, or shards listed by their `*.index.json`);
// - any kind: every file the upload declared arrived with the declared size.
//
// What can be parsed is parsed: JSON configs, and the header of every safetensors file (its length,
// the JSON, each tensor's dtype, shape and byte range against the file's size). Pickled `.bin`
// weights are only checked for their container's magic bytes. Pure over a `read` function, so the
// same code runs over either store and in unit tests over buffers.
import { InvalidKeyError, checkKey } from './store.js';

export type ModelFileReason = 'MISSING' | 'INVALID' | 'SIZE_MISMATCH' | 'EMPTY';

export interface ModelFileProblem {
  /** The file (or, for a missing alternative, the names it could have). */
  file: string;
  reason: ModelFileReason;
  description: string;
}

export interface ModelFilesReport {
  problems: ModelFileProblem[];
  warnings: string[];
}

/** What the store has of a model: file name → size. */
export type FileSizes = ReadonlyMap<string, number>;
/** Reads bytes [start, end] (inclusive) of a file, or all of it. */
export type ReadFile = (name: string, range?: { start: number; end: number }) => Promise<Buffer>;

export interface ModelFileExpectations {
  kind: string;
  /** Sizes `:getUploadEndpoint` was asked for; each must have arrived with exactly that size. */
  declared?: Readonly<Record<string, number>>;
  /** `peftDetails` of the model: an adapter's config must agree with them where they are set. */
  peft?: { r?: number; targetModules?: readonly string[] };
}

export const ADAPTER_KINDS = ['HF_PEFT_ADDON', 'HF_TEFT_ADDON'];
export const BASE_KINDS = ['HF_BASE_MODEL'];

/** JSON configs larger than this are not read (a config is kilobytes; a tokenizer.json megabytes). */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;
/** safetensors caps its header at 100 MB. */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;
export const MAX_FILES_PER_MODEL = 1000;

const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1, F4: 0.5, F6_E2M3: 0.75, F6_E3M2: 0.75,
  I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, I64: 8, U64: 8, F64: 8, C64: 8,
};

/**
 * A model file name: a relative path (`config.json`, `original/params.json`), segments of 1–255
 * characters, none `.` or `..`, no backslash or control character, at most 1024 bytes. Returns why
 * not, or undefined when it is fine.
 */
export function modelFileNameProblem(name: string): string | undefined {
  try {
    checkKey(name);
  } catch (e) {
    if (e instanceof InvalidKeyError) return 'must be a relative path without empty, "." or ".." segments, backslashes or control characters, at most 1024 bytes';
    throw e;
  }
  if (name.split('/').some((s) => s.length > 255)) return 'has a path segment longer than 255 characters';
  return undefined;
}

interface TensorRange {
  tensor: string;
  begin: number;
  end: number;
}

const naturals = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);
/** `[begin, end]` with begin ≤ end, or undefined. */
const offsetsOf = (v: unknown): [number, number] | undefined => (naturals(v) && v.length === 2 && v[0]! <= v[1]! ? [v[0]!, v[1]!] : undefined);

/** One header entry: dtype known, shape and data_offsets valid, inside the data, the right length. */
function tensorRange(tensor: string, v: unknown, dataBytes: number): TensorRange | string {
  const label = `tensor "${tensor.slice(0, 200)}"`;
  const t = (v ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  const perElem = typeof t.dtype === 'string' ? DTYPE_BYTES[t.dtype] : undefined;
  if (perElem === undefined) return `${label} has an unknown dtype ${JSON.stringify(t.dtype)}`;
  if (!naturals(t.shape)) return `${label} has no valid shape`;
  const off = offsetsOf(t.data_offsets);
  if (!off) return `${label} has no valid data_offsets`;
  const [begin, end] = off;
  if (end > dataBytes) return `${label} ends at byte ${end} of a ${dataBytes}-byte data section (the file is truncated?)`;
  const need = Math.ceil(t.shape.reduce((a, d) => a * d, 1) * perElem);
  if (need !== end - begin) return `${label} (${t.dtype} ${JSON.stringify(t.shape)}) needs ${need} bytes but data_offsets give ${end - begin}`;
  return { tensor, begin, end };
}

/** The tensors tile the data section: no overlap, no hole, nothing after the last one. */
function tilingProblem(ranges: TensorRange[], dataBytes: number): string | undefined {
  if (ranges.length === 0) return 'it holds no tensors';
  let at = 0;
  for (const r of [...ranges].sort((a, b) => a.begin - b.begin)) {
    if (r.begin !== at) return `tensor "${r.tensor.slice(0, 200)}" starts at byte ${r.begin}, expected ${at} (overlapping or missing data)`;
    at = r.end;
  }
  return at === dataBytes ? undefined : `the tensors cover ${at} bytes of a ${dataBytes}-byte data section`;
}

class Checker {
  readonly problems: ModelFileProblem[] = [];
  readonly warnings: string[] = [];

  constructor(
    readonly files: FileSizes,
    readonly read: ReadFile,
  ) {}

  problem(file: string, reason: ModelFileReason, description: string): void {
    this.problems.push({ file, reason, description });
  }

  has(name: string): boolean {
    return this.files.has(name);
  }

  /** Parses a JSON file that must hold an object; records the problem and returns undefined otherwise. */
  async json(name: string): Promise<Record<string, unknown> | undefined> {
    const size = this.files.get(name);
    if (size === undefined) return undefined;
    if (size === 0) return void this.problem(name, 'EMPTY', 'is empty');
    if (size > MAX_JSON_BYTES) return void this.problem(name, 'INVALID', `is ${size} bytes; a JSON config of at most ${MAX_JSON_BYTES} bytes is expected`);
    let value: unknown;
    try {
      value = JSON.parse((await this.read(name)).toString('utf8'));
    } catch (e) {
      return void this.problem(name, 'INVALID', `is not valid JSON: ${e instanceof Error ? e.message.slice(0, 200) : String(e)}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return void this.problem(name, 'INVALID', 'must hold a JSON object');
    return value as Record<string, unknown>;
  }

  /** Checks a safetensors file's header against its size; returns its tensor names. */
  async safetensors(name: string): Promise<string[] | undefined> {
    const size = this.files.get(name);
    if (size === undefined) return undefined;
    const bad = (why: string): undefined => void this.problem(name, 'INVALID', `is not a valid safetensors file: ${why}`);
    const parsed = await this.safetensorsHeader(name, size);
    if (typeof parsed === 'string') return bad(parsed);
    const ranges: TensorRange[] = [];
    for (const [tensor, v] of Object.entries(parsed.header)) {
      if (tensor === '__metadata__') continue;
      const range = tensorRange(tensor, v, parsed.dataBytes);
      if (typeof range === 'string') return bad(range);
      ranges.push(range);
    }
    const gap = tilingProblem(ranges, parsed.dataBytes);
    if (gap) return bad(gap);
    return ranges.map((r) => r.tensor);
  }

  /** The header (8-byte little-endian length, then JSON) and the data section's size, or why not. */
  private async safetensorsHeader(name: string, size: number): Promise<{ header: Record<string, unknown>; dataBytes: number } | string> {
    if (size < 8) return `it has ${size} bytes, fewer than the 8-byte header length`;
    const n = Number((await this.read(name, { start: 0, end: 7 })).readBigUInt64LE(0));
    if (n < 2 || n > MAX_SAFETENSORS_HEADER_BYTES) return `the header length ${n} is outside 2–${MAX_SAFETENSORS_HEADER_BYTES}`;
    if (8 + n > size) return `the header (${n} bytes) runs past the end of the ${size}-byte file`;
    let header: unknown;
    try {
      header = JSON.parse((await this.read(name, { start: 8, end: 8 + n - 1 })).toString('utf8'));
    } catch (e) {
      return `the header is not JSON (${e instanceof Error ? e.message.slice(0, 120) : String(e)})`;
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) return 'the header is not a JSON object';
    return { header: header as Record<string, unknown>, dataBytes: size - 8 - n };
  }

  /** A PyTorch `.bin`: the zip container torch.save writes, or a legacy pickle. */
  async torchBin(name: string): Promise<void> {
    const size = this.files.get(name);
    if (size === undefined) return;
    if (size === 0) return this.problem(name, 'EMPTY', 'is empty');
    const head = await this.read(name, { start: 0, end: Math.min(size, 4) - 1 });
    const zip = head.length >= 4 && head.readUInt32LE(0) === 0x04034b50;
    const pickle = head[0] === 0x80 && head.length >= 2 && head[1]! >= 2 && head[1]! <= 5;
    if (!zip && !pickle) this.problem(name, 'INVALID', 'is not a PyTorch checkpoint (neither the zip container torch.save writes nor a pickle)');
  }
}

/** `target_modules` as a list (PEFT also writes one module as a string), or undefined. */
function modulesOf(tm: unknown): string[] | undefined {
  if (typeof tm === 'string') return [tm];
  return Array.isArray(tm) && tm.every((m) => typeof m === 'string') ? (tm as string[]) : undefined;
}

/** The rank must be a positive integer, and the model's `peftDetails.r` where it is set. */
function rankProblem(r: unknown, peft: ModelFileExpectations['peft']): string | undefined {
  if (!Number.isSafeInteger(r) || (r as number) < 1) return `must set "r" (the LoRA rank) to a positive integer; it is ${JSON.stringify(r)}`;
  if (peft?.r !== undefined && peft.r !== r) return `sets "r" to ${String(r)}, but the model's peftDetails.r is ${peft.r}`;
  return undefined;
}

function checkAdapterConfig(c: Checker, cfg: Record<string, unknown>, peft: ModelFileExpectations['peft']): void {
  const name = 'adapter_config.json';
  const rank = rankProblem(cfg.r, peft);
  if (rank) c.problem(name, 'INVALID', rank);
  const modules = modulesOf(cfg.target_modules);
  if (!modules || modules.length === 0) c.problem(name, 'INVALID', 'must list "target_modules"');
  const missing = modules ? (peft?.targetModules ?? []).filter((m) => !modules.includes(m)) : [];
  if (missing.length > 0) c.warnings.push(`${name}: target_modules lacks ${missing.join(', ')} named in peftDetails.targetModules`);
  if (cfg.peft_type !== undefined && cfg.peft_type !== 'LORA') c.problem(name, 'INVALID', `has peft_type ${JSON.stringify(cfg.peft_type)}; only LORA adapters are served`);
}

async function checkAdapter(c: Checker, peft: ModelFileExpectations['peft']): Promise<void> {
  if (!c.has('adapter_config.json')) c.problem('adapter_config.json', 'MISSING', 'is required for an adapter (its LoRA configuration)');
  const cfg = await c.json('adapter_config.json');
  if (cfg) checkAdapterConfig(c, cfg, peft);
  const st = 'adapter_model.safetensors';
  const bin = 'adapter_model.bin';
  if (!c.has(st) && !c.has(bin)) c.problem(`${st} | ${bin}`, 'MISSING', 'adapter weights are required: adapter_model.safetensors or adapter_model.bin');
  const tensors = await c.safetensors(st);
  if (tensors && !tensors.some((t) => /lora_[AB]|lora_(up|down)/.test(t))) c.warnings.push(`${st}: no tensor name contains lora_A or lora_B`);
  await c.torchBin(bin);
}

async function checkTokenizer(c: Checker): Promise<void> {
  // One of the forms transformers loads.
  const hasTokenizer = c.has('tokenizer.json') || c.has('tokenizer.model') || (c.has('vocab.json') && c.has('merges.txt'));
  if (!hasTokenizer) c.problem('tokenizer.json | tokenizer.model | vocab.json+merges.txt', 'MISSING', 'a tokenizer is required for a base model');
  await c.json('tokenizer.json');
  await c.json('tokenizer_config.json');
  if (c.files.get('tokenizer.model') === 0) c.problem('tokenizer.model', 'EMPTY', 'is empty');
}

/** The shards an index names (each missing one is a problem). */
async function shardsOf(c: Checker, index: string): Promise<string[]> {
  const idx = await c.json(index);
  if (!idx) return [];
  const map = idx.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map) || !Object.values(map).every((f) => typeof f === 'string')) {
    c.problem(index, 'INVALID', 'must hold a "weight_map" of tensor name → shard file');
    return [];
  }
  const shards = [...new Set(Object.values(map as Record<string, string>))];
  for (const shard of shards) if (!c.has(shard)) c.problem(shard, 'MISSING', `is listed in ${index} but was not uploaded`);
  return shards.filter((shard) => c.has(shard));
}

async function checkBase(c: Checker): Promise<void> {
  if (!c.has('config.json')) c.problem('config.json', 'MISSING', 'is required for a base model');
  const cfg = await c.json('config.json');
  if (cfg && typeof cfg.model_type !== 'string' && !Array.isArray(cfg.architectures)) c.problem('config.json', 'INVALID', 'must name "model_type" or "architectures"');
  await checkTokenizer(c);
  await checkWeights(c);
}

/** Weights: a single file, or shards named by an index; each one's container checked. */
async function checkWeights(c: Checker): Promise<void> {
  const weights = [...(await shardsOf(c, 'model.safetensors.index.json')), ...(await shardsOf(c, 'pytorch_model.bin.index.json'))];
  for (const single of ['model.safetensors', 'pytorch_model.bin']) if (c.has(single)) weights.push(single);
  if (weights.length === 0 && !c.problems.some((p) => p.reason === 'MISSING' && p.file.endsWith('.safetensors'))) {
    c.problem('model.safetensors | pytorch_model.bin | *.index.json', 'MISSING', 'weights are required for a base model');
  }
  for (const w of weights) {
    if (w.endsWith('.safetensors')) await c.safetensors(w);
    else await c.torchBin(w);
  }
}

/** Checks a model's files for its kind; a model may become READY only with no problems. */
export async function checkModelFiles(files: FileSizes, read: ReadFile, want: ModelFileExpectations): Promise<ModelFilesReport> {
  const c = new Checker(files, read);
  if (files.size === 0) {
    c.problem('(files)', 'MISSING', 'nothing was uploaded: call :getUploadEndpoint, PUT each file to its URL, then :validateUpload');
    return { problems: c.problems, warnings: c.warnings };
  }
  for (const [name, size] of Object.entries(want.declared ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const got = files.get(name);
    if (got === undefined) c.problem(name, 'MISSING', `was declared to :getUploadEndpoint (${size} bytes) but not uploaded`);
    else if (got !== size) c.problem(name, 'SIZE_MISMATCH', `has ${got} bytes; ${size} were declared`);
  }
  if (ADAPTER_KINDS.includes(want.kind)) await checkAdapter(c, want.peft);
  else if (BASE_KINDS.includes(want.kind)) await checkBase(c);
  else c.warnings.push(`files of kind ${want.kind} are stored as uploaded; their layout is not checked`);
  return { problems: c.problems, warnings: c.warnings };
}

/** One line naming every problem, for the model's status message and the error. */
export function describeProblems(problems: readonly ModelFileProblem[]): string {
  return problems.map((p) => `${p.file}: ${p.description}`).join('; ');
}
