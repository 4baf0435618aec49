// In-memory SftStores for the reconciler's table tests: datasets (metadata + lines), the trainer's
// files, models, and GPU quota with holds (all or nothing, like PostgreSQL's).
import type { DatasetMeta, NewSplit, OutputModel, SftStores } from './stores.js';
import { InvalidAdapterError } from './stores.js';

export class FakeSftStores implements SftStores {
  readonly datasets = new Map<string, DatasetMeta & { lines: string[] }>();
  readonly models = new Map<string, { baseModel: string; job?: string; state: string; from?: string }>();
  /** `<account>/<job>/<path>` → size. */
  readonly files = new Map<string, number>();
  readonly quotas = new Map<string, number>();
  /** `<account>/<holder>` → quota name → GPUs. */
  readonly holds = new Map<string, Record<string, number>>();

  /** The installation's trainer token key (the same across a restart of the reconciler). */
  key = Buffer.from('test-trainer-token-key');
  #version = 0;
  /** Reads of dataset bytes (the reconciler caches what a READY dataset's bytes say). */
  byteReads = 0;
  /** Reads of dataset rows (passes at once share one). */
  metaReads = 0;
  /** Quota reads and holds, in order (`read`/`hold`), to see what ran before what. */
  readonly quotaCalls: string[] = [];

  addDataset(account: string, id: string, lines: string[], state = 'READY'): void {
    this.datasets.set(`${account}/${id}`, { state, format: 'CHAT', exampleCount: lines.length, estimatedTokens: lines.join('').length / 4, version: String(++this.#version), lines });
  }

  async dataset(a: string, id: string): Promise<DatasetMeta | undefined> {
    this.metaReads++;
    await Promise.resolve(); // a round trip: passes at once overlap here
    const d = this.datasets.get(`${a}/${id}`);
    if (!d) return undefined;
    const { lines: _lines, ...meta } = d;
    return meta;
  }

  async datasetBytes(a: string, id: string): Promise<Buffer> {
    this.byteReads++;
    await Promise.resolve();
    return Buffer.from((this.datasets.get(`${a}/${id}`)?.lines ?? []).map((l) => `${l}\n`).join(''));
  }

  async writeDatasets(a: string, _job: string, parts: readonly NewSplit[]): Promise<void> {
    for (const p of parts) if (!this.datasets.has(`${a}/${p.datasetId}`)) this.addDataset(a, p.datasetId, [...p.lines]);
  }

  async modelExists(a: string, id: string): Promise<boolean> {
    return this.models.has(`${a}/${id}`);
  }

  async modelOfJob(a: string, id: string, job: string): Promise<boolean> {
    return this.models.get(`${a}/${id}`)?.job === job;
  }

  async adapterBase(a: string, id: string): Promise<string | undefined> {
    const m = this.models.get(`${a}/${id}`);
    return m?.state === 'READY' ? m.baseModel : undefined;
  }

  async trainerFiles(a: string, job: string, under: string): Promise<Map<string, number>> {
    const prefix = `${a}/${job}/${under}`;
    return new Map([...this.files].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  }

  async registerModel(o: OutputModel): Promise<'created' | 'exists'> {
    const key = `${o.accountId}/${o.modelId}`;
    if (this.models.has(key)) return 'exists';
    const files = await this.trainerFiles(o.accountId, o.job.split('/').pop()!, o.from);
    if (!files.has('adapter_config.json') || !files.has('adapter_model.safetensors')) throw new InvalidAdapterError(`the trainer's adapter is not valid: ${o.from} lacks adapter_config.json or adapter_model.safetensors`);
    this.models.set(key, { baseModel: o.baseModel, job: o.job, state: 'READY', from: o.from });
    return 'created';
  }

  async quotaLeft(a: string, holder: string, quotaNames: readonly string[]): Promise<Map<string, number>> {
    this.quotaCalls.push(`read ${holder}`);
    const out = new Map<string, number>();
    for (const q of quotaNames) {
      const others = [...this.holds].filter(([k]) => k.startsWith(`${a}/`) && k !== `${a}/${holder}`).reduce((s, [, h]) => s + (h[q] ?? 0), 0);
      out.set(q, Math.max(0, (this.quotas.get(q) ?? 8) - others));
    }
    return out;
  }

  async hold(a: string, holder: string, quotaName: string, gpus: number): Promise<{ ok: true } | { ok: false; why: string }> {
    this.quotaCalls.push(`hold ${holder}`);
    const limit = this.quotas.get(quotaName) ?? 8;
    const others = [...this.holds].filter(([k]) => k.startsWith(`${a}/`) && k !== `${a}/${holder}`).reduce((s, [, h]) => s + (h[quotaName] ?? 0), 0);
    if (others + gpus > limit) return { ok: false, why: `quota ${quotaName}: ${gpus} GPUs needed, ${Math.max(0, limit - others)} of ${limit} free` };
    this.holds.set(`${a}/${holder}`, { [quotaName]: gpus });
    return { ok: true };
  }

  async release(a: string, holder: string): Promise<void> {
    this.holds.delete(`${a}/${holder}`);
  }

  async tokenKey(): Promise<Buffer> {
    return this.key;
  }
}
