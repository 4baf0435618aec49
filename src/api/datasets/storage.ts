// Dataset bytes in PostgreSQL (`dataset_contents`, storageUri `pg://dataset_contents`): every API
// replica reads and writes the same bytes without a shared filesystem.
//
// Writes are staged: an upload goes in chunks (at most `chunkBytes` each, one row per chunk, one
// chunk buffer in memory) under a staging file name no real file can have (it contains a '/').
// Only `commit` makes it the dataset's content, in one transaction that also replaces what was
// there before and updates the dataset row; `discard` removes a failed upload. So a broken or
// interrupted upload never becomes (part of) a READY dataset.
import { randomUUID } from 'node:crypto';
import { and, asc, eq, ne, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { NotFoundError, isForeignKeyViolation } from '../../db/errors.js';
import { datasetName } from '../../db/repositories/names.js';
import { datasetContents } from '../../db/schema/index.js';
import { aborted } from '../wire/errors.js';

export const DATASET_STORAGE_URI = 'pg://dataset_contents';
export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
const STAGING_PREFIX = '.staging/';

export interface StoredFile {
  fileName: string;
  bytes: number;
  chunks: number;
}

/** A real file name: the last path segment of what the client sent, 1–255 characters. */
export function sanitizeFileName(name: string | undefined, fallback = 'dataset.jsonl'): string {
  const base = (name ?? '').split(/[\\/]/).pop()?.trim() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 255);
  return clean === '' || clean === '.' || clean === '..' ? fallback : clean;
}

const toBuffer = (d: Uint8Array): Buffer => (Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength));

/** Writes one staged file chunk by chunk. */
export class StagedWriter {
  readonly stagingName: string;
  private readonly buf: Buffer;
  private fill = 0;
  private chunk = 0;
  private total = 0;

  constructor(
    private readonly db: Db,
    readonly accountId: string,
    readonly datasetId: string,
    readonly fileName: string,
    chunkBytes: number,
  ) {
    this.stagingName = `${STAGING_PREFIX}${randomUUID()}/${fileName}`;
    this.buf = Buffer.allocUnsafe(chunkBytes);
  }

  get bytes(): number {
    return this.total;
  }

  /** Chunks written so far. */
  get chunks(): number {
    return this.chunk;
  }

  async write(data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const n = Math.min(data.length - off, this.buf.length - this.fill);
      this.buf.set(data.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      this.total += n;
      if (this.fill === this.buf.length) await this.flush();
    }
  }

  /** Writes what is left; the file is then complete under its staging name. */
  async finish(): Promise<StoredFile> {
    if (this.fill > 0 || this.chunk === 0) await this.flush();
    return { fileName: this.fileName, bytes: this.total, chunks: this.chunk };
  }

  private async flush(): Promise<void> {
    // A copy of exactly the filled part: the driver may hold on to it until the query is sent.
    const data = Buffer.from(this.buf.subarray(0, this.fill));
    try {
      await this.db.insert(datasetContents).values({ accountId: this.accountId, datasetId: this.datasetId, fileName: this.stagingName, chunk: this.chunk, data });
    } catch (e) {
      // The dataset was deleted while its file was arriving.
      if (isForeignKeyViolation(e)) throw new NotFoundError('dataset', datasetName(this.accountId, this.datasetId));
      throw e;
    }
    this.chunk++;
    this.fill = 0;
  }
}

export class DatasetContents {
  constructor(
    private readonly db: Db,
    private readonly chunkBytes = DEFAULT_CHUNK_BYTES,
  ) {}

  writer(accountId: string, datasetId: string, fileName: string): StagedWriter {
    return new StagedWriter(this.db, accountId, datasetId, fileName, this.chunkBytes);
  }

  /** Removes a staged upload (best effort is the caller's business). */
  async discard(w: { accountId: string; datasetId: string; stagingName: string }): Promise<void> {
    await this.db
      .delete(datasetContents)
      .where(and(eq(datasetContents.accountId, w.accountId), eq(datasetContents.datasetId, w.datasetId), eq(datasetContents.fileName, w.stagingName)));
  }

  /**
   * Makes a staged file the dataset's only content, and runs `then` (the dataset row update) in the
   * same transaction.
   */
  async commit<T>(w: { accountId: string; datasetId: string; stagingName: string; fileName: string; chunks: number }, then: (tx: Db) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      const { accountId, datasetId } = w;
      const mine = and(eq(datasetContents.accountId, accountId), eq(datasetContents.datasetId, datasetId));
      // Previous content and abandoned stagings of other uploads go; this staging stays.
      await tx.delete(datasetContents).where(and(mine, ne(datasetContents.fileName, w.stagingName)));
      const moved = await tx
        .update(datasetContents)
        .set({ fileName: w.fileName })
        .where(and(mine, eq(datasetContents.fileName, w.stagingName)))
        .returning({ chunk: datasetContents.chunk });
      // A concurrent upload's commit removed part of this one: never keep a file with holes.
      if (moved.length !== w.chunks) throw aborted('another upload to this dataset finished while this one was arriving; upload again');
      return then(tx as unknown as Db);
    });
  }

  /** The committed files of a dataset (stagings excluded). */
  async files(accountId: string, datasetId: string): Promise<StoredFile[]> {
    const rows = await this.db
      .select({ fileName: datasetContents.fileName, bytes: sql<string>`sum(octet_length(${datasetContents.data}))`, chunks: sql<string>`count(*)` })
      .from(datasetContents)
      .where(and(eq(datasetContents.accountId, accountId), eq(datasetContents.datasetId, datasetId), sql`${datasetContents.fileName} not like ${`${STAGING_PREFIX}%`}`))
      .groupBy(datasetContents.fileName)
      .orderBy(asc(datasetContents.fileName));
    return rows.map((r) => ({ fileName: r.fileName, bytes: Number(r.bytes), chunks: Number(r.chunks) }));
  }

  /** Rows of a dataset, stagings included (for tests and clean-up checks). */
  async rowCount(accountId: string, datasetId: string): Promise<number> {
    const [row] = await this.db
      .select({ n: sql<string>`count(*)` })
      .from(datasetContents)
      .where(and(eq(datasetContents.accountId, accountId), eq(datasetContents.datasetId, datasetId)));
    return Number(row?.n ?? 0);
  }

  /** A committed file's bytes, one chunk (one query) at a time. */
  async *read(accountId: string, datasetId: string, fileName: string): AsyncGenerator<Buffer> {
    for (let chunk = 0; ; chunk++) {
      const [row] = await this.db
        .select({ data: datasetContents.data })
        .from(datasetContents)
        .where(
          and(eq(datasetContents.accountId, accountId), eq(datasetContents.datasetId, datasetId), eq(datasetContents.fileName, fileName), eq(datasetContents.chunk, chunk)),
        );
      if (!row) return;
      yield toBuffer(row.data);
    }
  }

  /** md5 (hex) of each chunk of a committed file, in order: what `read` returned, unchanged? */
  async chunkDigests(db: Db, accountId: string, datasetId: string, fileName: string): Promise<string[]> {
    const rows = await db
      .select({ md5: sql<string>`md5(${datasetContents.data})` })
      .from(datasetContents)
      .where(and(eq(datasetContents.accountId, accountId), eq(datasetContents.datasetId, datasetId), eq(datasetContents.fileName, fileName)))
      .orderBy(asc(datasetContents.chunk));
    return rows.map((r) => r.md5);
  }

  /** Copies the committed content of one dataset to another (same account), in `tx`. */
  async copy(tx: Db, accountId: string, fromId: string, toId: string): Promise<void> {
    await tx.execute(sql`
      insert into dataset_contents (account_id, dataset_id, file_name, chunk, data)
      select account_id, ${toId}, file_name, chunk, data from dataset_contents
      where account_id = ${accountId} and dataset_id = ${fromId} and file_name not like ${`${STAGING_PREFIX}%`}`);
  }

  /** Removes every chunk of a dataset (its content moved to the artifact store), in `tx`. */
  async removeAll(tx: Db, accountId: string, datasetId: string): Promise<void> {
    await tx.delete(datasetContents).where(and(eq(datasetContents.accountId, accountId), eq(datasetContents.datasetId, datasetId)));
  }

  /** Stagings older uploads left behind (a crash mid-upload) are removed by the next commit. */
  static isStaging(fileName: string): boolean {
    return fileName.startsWith(STAGING_PREFIX);
  }
}
