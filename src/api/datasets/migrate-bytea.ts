// Moves dataset bytes stored before the artifact store existed (chunks in PostgreSQL's
// `dataset_contents`, `storageUri = pg://dataset_contents`) into the store, at start. Why at start
// and not in a SQL migration: the bytes must reach a filesystem or a bucket, which SQL cannot write.
// Why move at all, and not only read from PostgreSQL forever: one place for every byte (one
// backup, one size limit, no multi-GiB tables); the read fallback in files.ts covers a dataset
// until it is moved, so nothing breaks if the move fails half way (it is retried at the next start).
//
// Per dataset: stream its committed file's chunks into a new object, then in one transaction on
// the locked row — if it still says `pg://` — point `storageUri` at the object and delete the
// chunks. A replica doing the same at the same time loses that check and removes its own object.
// Chunk rows of abandoned stagings (a crash mid-upload) of a dataset are deleted with it.
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { ArtifactStore } from '../../artifacts/index.js';
import type { Db } from '../../db/client.js';
import { datasetContents, datasets as datasetsTable, type DatasetRow } from '../../db/schema/index.js';
import { ARTIFACT_URI_PREFIX, datasetPrefix } from './files.js';
import { DATASET_STORAGE_URI, DatasetContents } from './storage.js';

export interface MigrationReport {
  moved: number;
  bytes: number;
  failed: number;
}

/** Streams a legacy dataset's committed file into a new object (none for a dataset without one). */
async function copyOut(store: ArtifactStore, legacy: DatasetContents, row: DatasetRow): Promise<{ key: string; bytes: number } | undefined> {
  const [file] = row.storageUri === DATASET_STORAGE_URI ? await legacy.files(row.accountId, row.datasetId) : [];
  if (!file) return undefined;
  const key = `${datasetPrefix(row.accountId, row.datasetId)}${randomUUID()}/${file.fileName}`;
  await store.put(key, legacy.read(row.accountId, row.datasetId, file.fileName));
  return { key, bytes: file.bytes };
}

/** On the locked row, if nobody changed it since `row` was read: point it at `key`, drop the chunks. */
async function claim(db: Db, legacy: DatasetContents, row: DatasetRow, key: string | undefined): Promise<boolean> {
  const where = and(eq(datasetsTable.accountId, row.accountId), eq(datasetsTable.datasetId, row.datasetId));
  return db.transaction(async (tx) => {
    const [locked] = await tx.select().from(datasetsTable).where(where).for('update');
    if (!locked || locked.storageUri !== row.storageUri) return false;
    if (key) await tx.update(datasetsTable).set({ storageUri: `${ARTIFACT_URI_PREFIX}${key}` }).where(where);
    await legacy.removeAll(tx as unknown as Db, row.accountId, row.datasetId);
    return true;
  });
}

/** Moves one dataset; returns the bytes moved (0: nothing to move, or another replica did it). */
async function moveOne(db: Db, store: ArtifactStore, accountId: string, datasetId: string): Promise<number> {
  const legacy = new DatasetContents(db);
  const [row] = await db.select().from(datasetsTable).where(and(eq(datasetsTable.accountId, accountId), eq(datasetsTable.datasetId, datasetId)));
  if (!row) return 0;
  const copied = await copyOut(store, legacy, row);
  let done = false;
  try {
    done = await claim(db, legacy, row, copied?.key);
  } finally {
    // Not claimed (failed, or another replica moved it first): this copy is nobody's.
    if (!done && copied) await store.delete(copied.key).catch(() => undefined);
  }
  return done ? (copied?.bytes ?? 0) : 0;
}

export async function moveDatasetBytesToStore(db: Db, store: ArtifactStore, log: Pick<Logger, 'info' | 'warn' | 'error'>): Promise<MigrationReport> {
  const report: MigrationReport = { moved: 0, bytes: 0, failed: 0 };
  // Datasets that still have chunks (whatever their storageUri says: also stagings of datasets whose
  // upload never committed).
  const pending = await db.selectDistinct({ accountId: datasetContents.accountId, datasetId: datasetContents.datasetId }).from(datasetContents);
  for (const { accountId, datasetId } of pending) {
    try {
      const bytes = await moveOne(db, store, accountId, datasetId);
      if (bytes > 0) {
        report.moved++;
        report.bytes += bytes;
      }
    } catch (err) {
      report.failed++;
      log.error({ err, accountId, datasetId }, 'moving a dataset out of PostgreSQL failed; it is still read from there, the move is retried at the next start');
    }
  }
  if (report.moved > 0 || report.failed > 0) log.info({ ...report, store: store.location }, 'dataset bytes moved from PostgreSQL to the artifact store');
  return report;
}
