// What the SFTJob controller reads and writes outside the cluster, behind one interface so the
// reconciler's table tests run on memory (fake-stores.ts): datasets (metadata in PostgreSQL, bytes
// in the artifact store or, not yet moved, in PostgreSQL), the carve-out split written as new
// datasets, the trainer's files under `sft-jobs/<a>/<j>/`, the output model (a models row READY
// with its files copied into the models layout), and the GPU quota holds.
import { randomUUID } from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import { readRange, type ArtifactStore } from '../../artifacts/index.js';
import { checkModelFiles, describeProblems } from '../../artifacts/model-files.js';
import type { Db } from '../../db/client.js';
import { AlreadyExistsError, QuotaExceededError } from '../../db/errors.js';
import { getDataset } from '../../db/repositories/datasets.js';
import { SECRET_NAMES, installationSecret } from '../../db/repositories/installation-secrets.js';
import { createModel, getModel } from '../../db/repositories/models.js';
import { getQuota, holdNew, quotaRoomFor, releaseAll, setHolds } from '../../db/repositories/quotas.js';
import { datasetContents, datasets } from '../../db/schema/index.js';
import { sftJobPrefix } from '../../crds/sft-trainer.js';

export interface DatasetMeta {
  state: string;
  format: string;
  exampleCount?: number;
  estimatedTokens?: number;
  /** Changes when the dataset is replaced (deleted and made again under the same id); a READY dataset's bytes never change otherwise. */
  version?: string;
}

/** One dataset of the carve-out split. */
export interface NewSplit {
  datasetId: string;
  lines: readonly string[];
  displayName: string;
}

export interface OutputModel {
  accountId: string;
  modelId: string;
  baseModel: string;
  job: string;
  displayName: string;
  /** Where the adapter's files are, relative to the job's prefix: `adapter/` or `checkpoints/<n>/`. */
  from: string;
  loraRank: number;
}

export interface SftStores {
  dataset(accountId: string, datasetId: string): Promise<DatasetMeta | undefined>;
  /** The dataset's JSONL bytes (all its files). */
  datasetBytes(accountId: string, datasetId: string): Promise<Buffer>;
  /** Writes READY CHAT datasets (the carve-out split) at once; an id already there (an earlier pass's) is left as it is. */
  writeDatasets(accountId: string, job: string, parts: readonly NewSplit[]): Promise<void>;
  modelExists(accountId: string, modelId: string): Promise<boolean>;
  /** The model was registered by `job` (a second WRITING_RESULTS pass after a lost status write). */
  modelOfJob(accountId: string, modelId: string, job: string): Promise<boolean>;
  /** The base model of a READY adapter model of the account (warm start), else undefined. */
  adapterBase(accountId: string, modelId: string): Promise<string | undefined>;
  /** The trainer's files under the job's prefix: relative path → size. */
  trainerFiles(accountId: string, job: string, under: string): Promise<Map<string, number>>;
  /** Registers the adapter as a READY model; 'exists' when a model of that id is there already. Throws when the files are not a valid adapter. */
  registerModel(o: OutputModel): Promise<'created' | 'exists'>;
  /** GPUs each named quota still allows `holder` (its limit, less what other holders hold). */
  quotaLeft(accountId: string, holder: string, quotaNames: readonly string[]): Promise<Map<string, number>>;
  /** Holds `gpus` of `quotaName` for `holder` (all or nothing); false when it does not fit. */
  hold(accountId: string, holder: string, quotaName: string, gpus: number): Promise<{ ok: true } | { ok: false; why: string }>;
  release(accountId: string, holder: string): Promise<void>;
  /**
   * The key the trainers' tokens are derived from (`trainerToken`, src/crds/sft-trainer.ts; the API checks tokens with it too): the same for every
   * controller replica and across restarts.
   */
  tokenKey(): Promise<Buffer>;
}

export class InvalidAdapterError extends Error {}

const ARTIFACT = 'artifact:';

export class PgSftStores implements SftStores {
  #tokenKey: Promise<Buffer> | undefined;

  constructor(
    private readonly db: Db,
    private readonly store: ArtifactStore,
  ) {}

  /** An installation secret in PostgreSQL (made by the first process that asks), read once per process. */
  tokenKey(): Promise<Buffer> {
    const read = (this.#tokenKey ??= installationSecret(this.db, SECRET_NAMES.sftTrainerTokens));
    read.catch(() => {
      if (this.#tokenKey === read) this.#tokenKey = undefined; // a failed read is tried again by the retry
    });
    return read;
  }

  async dataset(accountId: string, datasetId: string): Promise<DatasetMeta | undefined> {
    const row = await getDataset(this.db, accountId, datasetId);
    if (!row) return undefined;
    return {
      state: row.state,
      format: row.format,
      ...(row.exampleCount !== null ? { exampleCount: Number(row.exampleCount) } : {}),
      ...(row.estimatedTokenCount !== null ? { estimatedTokens: Number(row.estimatedTokenCount) } : {}),
      version: `${row.createTime.toISOString()} ${row.storageUri ?? ''}`,
    };
  }

  async datasetBytes(accountId: string, datasetId: string): Promise<Buffer> {
    const row = await getDataset(this.db, accountId, datasetId);
    const uri = row?.storageUri ?? '';
    if (uri.startsWith(ARTIFACT)) return (await readRange(this.store, uri.slice(ARTIFACT.length))) ?? Buffer.alloc(0);
    const rows = await this.db
      .select({ data: datasetContents.data })
      .from(datasetContents)
      .where(and(eq(datasetContents.accountId, accountId), eq(datasetContents.datasetId, datasetId), sql`${datasetContents.fileName} not like '%/%'`))
      .orderBy(asc(datasetContents.fileName), asc(datasetContents.chunk));
    return Buffer.concat(rows.map((r) => r.data));
  }

  async writeDatasets(accountId: string, job: string, parts: readonly NewSplit[]): Promise<void> {
    // The files, then every row in one insert (no read first: the insert says which ids were there
    // already, from an earlier pass whose status write was lost, and their new files are removed).
    const files = parts.map((p) => ({ ...p, key: `datasets/${accountId}/${p.datasetId}/${randomUUID()}/${p.datasetId}.jsonl`, body: Buffer.from(p.lines.map((l) => `${l}\n`).join('')) }));
    await Promise.all(files.map((f) => this.store.put(f.key, (async function* () {
      yield f.body;
    })())));
    let made: string[];
    try {
      const rows = await this.db
        .insert(datasets)
        .values(files.map((f) => ({
          accountId,
          datasetId: f.datasetId,
          displayName: f.displayName,
          state: 'READY' as const,
          format: 'CHAT' as const,
          exampleCount: BigInt(f.lines.length),
          estimatedTokenCount: BigInt(Math.ceil(f.body.length / 4)),
          storageUri: `${ARTIFACT}${f.key}`,
          spec: { supervisedFineTuningJob: job },
        })))
        .onConflictDoNothing()
        .returning({ datasetId: datasets.datasetId });
      made = rows.map((r) => r.datasetId);
    } catch (e) {
      made = [];
      await Promise.all(files.map((f) => this.store.delete(f.key)));
      throw e;
    }
    await Promise.all(files.filter((f) => !made.includes(f.datasetId)).map((f) => this.store.delete(f.key)));
  }

  async modelExists(accountId: string, modelId: string): Promise<boolean> {
    return (await getModel(this.db, accountId, modelId)) !== undefined;
  }

  async modelOfJob(accountId: string, modelId: string, job: string): Promise<boolean> {
    return (await getModel(this.db, accountId, modelId))?.fineTuningJob === job;
  }

  async adapterBase(accountId: string, modelId: string): Promise<string | undefined> {
    const row = await getModel(this.db, accountId, modelId);
    const base = (row?.spec.peftDetails as { baseModel?: unknown } | undefined)?.baseModel;
    return row?.state === 'READY' && typeof base === 'string' ? base : undefined;
  }

  async trainerFiles(accountId: string, job: string, under: string): Promise<Map<string, number>> {
    const prefix = `${sftJobPrefix(accountId, job)}${under}`;
    const out = new Map<string, number>();
    for (const o of await this.store.list(prefix)) out.set(o.key.slice(prefix.length), o.size);
    return out;
  }

  async registerModel(o: OutputModel): Promise<'created' | 'exists'> {
    if (await getModel(this.db, o.accountId, o.modelId)) return 'exists';
    const from = `${sftJobPrefix(o.accountId, o.job.split('/').pop()!)}${o.from}`;
    const files = new Map<string, number>();
    for (const f of await this.store.list(from)) {
      const name = f.key.slice(from.length);
      if (!name.includes('/')) files.set(name, f.size);
    }
    const report = await checkModelFiles(files, async (name, range) => (await readRange(this.store, `${from}${name}`, range)) ?? Buffer.alloc(0), { kind: 'HF_PEFT_ADDON', peft: { r: o.loraRank } });
    if (report.problems.length > 0) throw new InvalidAdapterError(`the trainer's adapter is not valid: ${describeProblems(report.problems)}`);
    const upload = randomUUID();
    const uploaded: Record<string, { key: string; size: number }> = {};
    for (const [name, size] of files) {
      const key = `models/${o.accountId}/${o.modelId}/${upload}/${name}`;
      await this.store.copy(`${from}${name}`, key);
      uploaded[name] = { key, size };
    }
    const cfg = JSON.parse(((await readRange(this.store, `${from}adapter_config.json`)) ?? Buffer.from('{}')).toString('utf8')) as { target_modules?: unknown };
    const targetModules = Array.isArray(cfg.target_modules) ? (cfg.target_modules as string[]) : typeof cfg.target_modules === 'string' ? [cfg.target_modules] : [];
    try {
      await createModel(this.db, {
        accountId: o.accountId,
        modelId: o.modelId,
        displayName: o.displayName,
        description: `LoRA adapter trained by ${o.job}`,
        kind: 'HF_PEFT_ADDON',
        state: 'READY',
        status: { code: 'OK' },
        spec: { peftDetails: { baseModel: o.baseModel, r: o.loraRank, targetModules } },
        fineTuningJob: o.job,
        files: { declared: Object.fromEntries([...files]), uploaded },
      });
      return 'created';
    } catch (e) {
      for (const f of Object.values(uploaded)) await this.store.delete(f.key);
      if (e instanceof AlreadyExistsError) return 'exists';
      throw e;
    }
  }

  async quotaLeft(accountId: string, holder: string, quotaNames: readonly string[]): Promise<Map<string, number>> {
    // One query for the rows there are (their room, plus what the holder holds itself).
    const room = await quotaRoomFor(this.db, accountId, holder, quotaNames);
    const out = new Map<string, number>();
    for (const name of quotaNames) {
      // A default quota not read before has no row yet: getQuota makes it.
      const q = room.has(name) ? undefined : await getQuota(this.db, accountId, name);
      const left = room.get(name) ?? (q ? q.value - q.usage : 0);
      out.set(name, Math.max(0, Math.floor(left)));
    }
    return out;
  }

  async hold(accountId: string, holder: string, quotaName: string, gpus: number): Promise<{ ok: true } | { ok: false; why: string }> {
    // A new job's hold is one statement (no transaction holding the quota row's lock); anything
    // else (a hold already there, no room, no row yet) goes through setHolds, which says why.
    if (await holdNew(this.db, accountId, holder, quotaName, gpus)) return { ok: true };
    try {
      await setHolds(this.db, accountId, holder, { [quotaName]: gpus });
      return { ok: true };
    } catch (e) {
      if (!(e instanceof QuotaExceededError)) throw e;
      const q = await getQuota(this.db, accountId, quotaName);
      return { ok: false, why: `quota ${quotaName}: ${gpus} GPUs needed, ${q ? Math.max(0, q.value - q.usage) : 0} of ${q?.value ?? 0} free` };
    }
  }

  async release(accountId: string, holder: string): Promise<void> {
    await releaseAll(this.db, accountId, holder);
  }
}
