// Dataset bytes in the artifact store (src/artifacts; metadata stays in PostgreSQL). A dataset's
// file is one object, `datasets/<account>/<dataset>/<upload>/<file>`, and the dataset row's
// `storageUri` (`artifact:<key>`) names it:
//
// - an upload streams into a NEW object (complete or absent: the store's guarantee), and only
//   `commit` makes it the dataset's, by pointing `storageUri` at it in a transaction on the locked
//   row; the object it replaces is deleted after the commit, a failed upload's object at once. So
//   a broken or interrupted upload never becomes (part of) a dataset;
// - datasets stored before the artifact store (`pg://dataset_contents`, chunks in PostgreSQL) are
//   moved into it at start (migrate-bytea.ts); until then they are read from PostgreSQL
//   (`DatasetContents`), so they keep working whatever happens to the move.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { and, eq } from 'drizzle-orm';
import type { ArtifactStore } from '../../artifacts/index.js';
import type { Db } from '../../db/client.js';
import { datasets as datasetsTable, type DatasetRow } from '../../db/schema/index.js';
import { DATASET_STORAGE_URI, DatasetContents } from './storage.js';

export const ARTIFACT_URI_PREFIX = 'artifact:';
export const datasetPrefix = (accountId: string, datasetId: string): string => `datasets/${accountId}/${datasetId}/`;
/** The store key of a dataset's file, or undefined when it has none there (legacy or nothing yet). */
export const keyOf = (storageUri: string | null): string | undefined => (storageUri?.startsWith(ARTIFACT_URI_PREFIX) ? storageUri.slice(ARTIFACT_URI_PREFIX.length) : undefined);
const fileNameOfKey = (key: string): string => key.split('/').slice(4).join('/');

export interface StoredFile {
  fileName: string;
  bytes: number;
}

/** An upload written to its own object, not yet the dataset's. */
export interface Staged {
  accountId: string;
  datasetId: string;
  fileName: string;
  key: string;
  bytes: number;
}

export class DatasetFiles {
  /** Datasets not yet moved out of PostgreSQL are read from there. */
  readonly legacy: DatasetContents;

  constructor(
    readonly db: Db,
    readonly store: ArtifactStore,
    readonly log: FastifyBaseLogger,
  ) {
    this.legacy = new DatasetContents(db);
  }

  /** Streams `body` into a new object of the dataset; throws (leaving nothing) if `body` does. */
  async stage(accountId: string, datasetId: string, fileName: string, body: AsyncIterable<Buffer>): Promise<Staged> {
    const key = `${datasetPrefix(accountId, datasetId)}${randomUUID()}/${fileName}`;
    const { size } = await this.store.put(key, body);
    return { accountId, datasetId, fileName, key, bytes: size };
  }

  async discard(s: Staged): Promise<void> {
    await this.store.delete(s.key).catch((err: unknown) => this.log.error({ err, key: s.key }, 'removing a discarded dataset upload failed'));
  }

  /**
   * Makes a staged object the dataset's file: `then` (checks and the rest of the row update) runs
   * on the row locked FOR UPDATE, in the transaction that sets `storageUri`. On failure the staged
   * object is removed; on success the one it replaced (and legacy chunks) go.
   */
  async commit<T>(s: Staged, then: (tx: Db, row: DatasetRow | undefined) => Promise<T>): Promise<T> {
    let replaced: string | undefined;
    let result: T;
    try {
      result = await this.db.transaction(async (tx) => {
        const [row] = await tx
          .select()
          .from(datasetsTable)
          .where(and(eq(datasetsTable.accountId, s.accountId), eq(datasetsTable.datasetId, s.datasetId)))
          .for('update');
        const out = await then(tx as unknown as Db, row);
        replaced = keyOf(row?.storageUri ?? null);
        await tx
          .update(datasetsTable)
          .set({ storageUri: `${ARTIFACT_URI_PREFIX}${s.key}` })
          .where(and(eq(datasetsTable.accountId, s.accountId), eq(datasetsTable.datasetId, s.datasetId)));
        // Chunks a pre-store upload left (the dataset's content is the new object now).
        if (row?.storageUri === DATASET_STORAGE_URI || row?.storageUri === null) await this.legacy.removeAll(tx as unknown as Db, s.accountId, s.datasetId);
        return out;
      });
    } catch (e) {
      await this.discard(s);
      throw e;
    }
    if (replaced && replaced !== s.key) await this.store.delete(replaced).catch((err: unknown) => this.log.warn({ err, key: replaced }, 'removing a replaced dataset file failed'));
    return result;
  }

  /** The dataset's file (none before an upload). */
  async files(row: DatasetRow): Promise<StoredFile[]> {
    const key = keyOf(row.storageUri);
    if (key) {
      const info = await this.store.head(key);
      return info ? [{ fileName: fileNameOfKey(key), bytes: info.size }] : [];
    }
    return (await this.legacy.files(row.accountId, row.datasetId)).map((f) => ({ fileName: f.fileName, bytes: f.bytes }));
  }

  /** The bytes of the dataset's file `fileName`, streamed; undefined when there is no such file. */
  async open(row: DatasetRow, fileName: string): Promise<Readable | AsyncIterable<Buffer> | undefined> {
    const key = keyOf(row.storageUri);
    if (key) return fileNameOfKey(key) === fileName ? this.store.get(key) : undefined;
    const files = await this.legacy.files(row.accountId, row.datasetId);
    return files.some((f) => f.fileName === fileName) ? this.legacy.read(row.accountId, row.datasetId, fileName) : undefined;
  }

  /** A copy of `source`'s file for a new dataset `toId`: the `storageUri` to give it (the object is written first). */
  async copyFor(source: DatasetRow, toId: string): Promise<{ storageUri: string; key: string } | undefined> {
    const [file] = await this.files(source);
    if (!file) return undefined;
    const key = `${datasetPrefix(source.accountId, toId)}${randomUUID()}/${file.fileName}`;
    const from = keyOf(source.storageUri);
    if (from) await this.store.copy(from, key);
    else await this.store.put(key, this.legacy.read(source.accountId, source.datasetId, file.fileName));
    return { storageUri: `${ARTIFACT_URI_PREFIX}${key}`, key };
  }

  /** After the dataset row is deleted: its object goes too (legacy chunks cascade with the row). */
  async removeFor(row: DatasetRow): Promise<void> {
    const key = keyOf(row.storageUri);
    if (key) await this.store.delete(key).catch((err: unknown) => this.log.error({ err, key }, 'removing a deleted dataset\'s file failed'));
  }
}
