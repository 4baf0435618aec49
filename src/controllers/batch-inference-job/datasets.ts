// How a batch inference job reaches datasets: their metadata (PostgreSQL, `datasets`) and their
// bytes. The bytes go through `DatasetBytes` ONLY, so moving dataset bytes to the artifact store
// means one new implementation of that interface; `PgDatasetBytes` is today's (the
// `dataset_contents` chunks the REST API uploads into and serves from).
//
// The output is written in parts: part i of the results file is written once, atomically, and a
// second writer of the same part is refused. The parts in order ARE the file (in PostgreSQL, part
// i is chunk i, so a finished output is an ordinary dataset file). So the output itself is the
// job's checkpoint: what a restarted controller finds there is answered, and nothing else is.
import { and, asc, eq, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import type { ArtifactStore } from '../../artifacts/index.js';
import type { Db } from '../../db/client.js';
import { AlreadyExistsError } from '../../db/errors.js';
import { createDataset, getDataset, updateDataset } from '../../db/repositories/datasets.js';
import { datasetContents, type DatasetState } from '../../db/schema/index.js';

/** The file a job writes into its output dataset. */
export const RESULTS_FILE = 'results.jsonl';

export interface DatasetRef {
  accountId: string;
  datasetId: string;
}

/** Dataset bytes: the one seam between a job and wherever dataset files live. */
export interface DatasetBytes {
  /** The dataset's files (in name order, each whole) as byte chunks. */
  read(ref: DatasetRef): AsyncIterable<Uint8Array>;
  /** Parts 0, 1, … of `fileName` written so far, in order. */
  readParts(ref: DatasetRef, fileName: string): AsyncIterable<Uint8Array>;
  /** Writes part `index` of `fileName`; false if that part exists already (another writer got there first). */
  writePart(ref: DatasetRef, fileName: string, index: number, bytes: Uint8Array): Promise<boolean>;
  /** The parts, in order, as the dataset's one file; returns the dataset's `storageUri` for it. */
  seal(ref: DatasetRef, fileName: string): Promise<string>;
  /** Removes the parts once the sealed file is the dataset's (no-op where the parts are the file). */
  dropParts(ref: DatasetRef, fileName: string): Promise<void>;
}

export interface DatasetInfo {
  state: DatasetState;
  /** The job that writes it, if a job created it. */
  writtenBy?: string;
}

/** Dataset metadata as a job needs it. */
export interface DatasetCatalog {
  get(ref: DatasetRef): Promise<DatasetInfo | undefined>;
  /**
   * Creates the output dataset of `job` (UPLOADING). 'ours' if `job` created it before (a restart),
   * 'taken' if it belongs to someone else.
   */
  createOutput(ref: DatasetRef, job: string, displayName: string): Promise<'created' | 'ours' | 'taken'>;
  /** The output is complete: READY with `lines` examples, its file at `storageUri`. */
  finishOutput(ref: DatasetRef, lines: number, storageUri: string): Promise<void>;
}

const LINEAGE_KEY = 'batchInferenceJob';

export class PgDatasetCatalog implements DatasetCatalog {
  constructor(private readonly db: Db) {}

  async get(ref: DatasetRef): Promise<DatasetInfo | undefined> {
    const row = await getDataset(this.db, ref.accountId, ref.datasetId);
    if (!row) return undefined;
    const by = row.spec[LINEAGE_KEY];
    return { state: row.state, ...(typeof by === 'string' ? { writtenBy: by } : {}) };
  }

  async createOutput(ref: DatasetRef, job: string, displayName: string): Promise<'created' | 'ours' | 'taken'> {
    try {
      await createDataset(this.db, {
        accountId: ref.accountId,
        datasetId: ref.datasetId,
        displayName,
        state: 'UPLOADING',
        format: 'FORMAT_UNSPECIFIED',
        spec: { [LINEAGE_KEY]: job },
      });
      return 'created';
    } catch (e) {
      if (!(e instanceof AlreadyExistsError)) throw e;
      const cur = await this.get(ref);
      return cur?.writtenBy === job ? 'ours' : 'taken';
    }
  }

  async finishOutput(ref: DatasetRef, lines: number, storageUri: string): Promise<void> {
    await updateDataset(this.db, ref.accountId, ref.datasetId, { state: 'READY', exampleCount: BigInt(lines), storageUri });
  }
}

const PG_STORAGE_URI = 'pg://dataset_contents';
const ARTIFACT_PREFIX = 'artifact:';

/** Staging uploads of the REST API hold a '/' in their file name; they are not the dataset's content. */
const isCommitted = sql`${datasetContents.fileName} not like '%/%'`;

export class PgDatasetBytes implements DatasetBytes {
  constructor(private readonly db: Db) {}

  async *read(ref: DatasetRef): AsyncIterable<Uint8Array> {
    const files = await this.db
      .selectDistinct({ fileName: datasetContents.fileName })
      .from(datasetContents)
      .where(and(this.#of(ref), isCommitted))
      .orderBy(asc(datasetContents.fileName));
    for (const f of files) {
      let last: Uint8Array | undefined;
      for await (const c of this.readParts(ref, f.fileName)) {
        last = c;
        yield c;
      }
      // Files are concatenated: make sure one's last line does not run into the next one's first.
      if (last && last.length > 0 && last[last.length - 1] !== 0x0a) yield Buffer.from('\n');
    }
  }

  async *readParts(ref: DatasetRef, fileName: string): AsyncIterable<Uint8Array> {
    for (let chunk = 0; ; chunk++) {
      const [row] = await this.db
        .select({ data: datasetContents.data })
        .from(datasetContents)
        .where(and(this.#of(ref), eq(datasetContents.fileName, fileName), eq(datasetContents.chunk, chunk)));
      if (!row) return;
      yield row.data;
    }
  }

  async writePart(ref: DatasetRef, fileName: string, index: number, bytes: Uint8Array): Promise<boolean> {
    const rows = await this.db
      .insert(datasetContents)
      .values({ accountId: ref.accountId, datasetId: ref.datasetId, fileName, chunk: index, data: Buffer.from(bytes) })
      .onConflictDoNothing()
      .returning({ chunk: datasetContents.chunk });
    return rows.length === 1;
  }

  async seal(): Promise<string> {
    return PG_STORAGE_URI;
  }

  async dropParts(): Promise<void> {}

  #of(ref: DatasetRef) {
    return and(eq(datasetContents.accountId, ref.accountId), eq(datasetContents.datasetId, ref.datasetId));
  }
}

async function* one(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

async function readAll(body: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/**
 * Dataset bytes in the artifact store (src/artifacts), as the REST API keeps them: a dataset's file
 * is the object its row's `storageUri` (`artifact:<key>`) names; a dataset not yet moved out of
 * PostgreSQL is read from there. A job's output parts are objects
 * `datasets/<a>/<d>/parts/<file>/<index>` until `seal` streams them, in order, into the one object
 * the dataset then points at.
 */
export class StoreDatasetBytes implements DatasetBytes {
  readonly #pg: PgDatasetBytes;

  constructor(
    private readonly db: Db,
    private readonly store: ArtifactStore,
  ) {
    this.#pg = new PgDatasetBytes(db);
  }

  async *read(ref: DatasetRef): AsyncIterable<Uint8Array> {
    const key = await this.#fileKey(ref);
    if (!key) {
      yield* this.#pg.read(ref);
      return;
    }
    const body = await this.store.get(key);
    if (body) for await (const c of body) yield c as Uint8Array;
  }

  /** One yield per part (the runner counts parts); a sealed output (a continued job's) as its one file. */
  async *readParts(ref: DatasetRef, fileName: string): AsyncIterable<Uint8Array> {
    const sealed = await this.#fileKey(ref);
    if (sealed?.endsWith(`/${fileName}`)) {
      const body = await this.store.get(sealed);
      if (body) yield await readAll(body);
      return;
    }
    for (const o of await this.store.list(this.#parts(ref, fileName))) {
      const body = await this.store.get(o.key);
      if (body) yield await readAll(body);
    }
  }

  async writePart(ref: DatasetRef, fileName: string, index: number, bytes: Uint8Array): Promise<boolean> {
    // One writer per job (the leader); the check keeps a stale one from overwriting a part.
    const key = `${this.#parts(ref, fileName)}${String(index).padStart(9, '0')}`;
    if (await this.store.head(key)) return false;
    await this.store.put(key, one(bytes));
    return true;
  }

  async seal(ref: DatasetRef, fileName: string): Promise<string> {
    const key = `datasets/${ref.accountId}/${ref.datasetId}/${randomUUID()}/${fileName}`;
    const parts = await this.store.list(this.#parts(ref, fileName));
    const store = this.store;
    await store.put(
      key,
      (async function* () {
        for (const o of parts) {
          const body = await store.get(o.key);
          if (body) for await (const c of body) yield c as Uint8Array;
        }
      })(),
    );
    return `${ARTIFACT_PREFIX}${key}`;
  }

  async dropParts(ref: DatasetRef, fileName: string): Promise<void> {
    await this.store.deletePrefix(this.#parts(ref, fileName));
  }

  #parts(ref: DatasetRef, fileName: string): string {
    return `datasets/${ref.accountId}/${ref.datasetId}/parts/${fileName}/`;
  }

  async #fileKey(ref: DatasetRef): Promise<string | undefined> {
    const uri = (await getDataset(this.db, ref.accountId, ref.datasetId))?.storageUri;
    return uri?.startsWith(ARTIFACT_PREFIX) ? uri.slice(ARTIFACT_PREFIX.length) : undefined;
  }
}
