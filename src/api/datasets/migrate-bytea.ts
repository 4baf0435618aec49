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
import { datasetContents, datasets as datasetsTable } from '../../db/schema/index.js';
import { ARTIFACT_URI_PREFIX, datasetPrefix } from './files.js';
import { DATASET_STORAGE_URI, DatasetContents } from './storage.js';

export interface MigrationReport {
  moved: number;
  bytes: number;
  failed: number;
}

export async function moveDatasetBytesToStore(db: Db, store: ArtifactStore, log: Pick<Logger, 'info' | 'warn' | 'error'>): Promise<MigrationReport> {
  const legacy = new DatasetContents(db);
  const report: MigrationReport = { moved: 0, bytes: 0, failed: 0 };
  // Datasets that still have chunks (whatever their storageUri says: also stagings of datasets whose
  // upload never committed).
  const pending = await db.selectDistinct({ accountId: datasetContents.accountId, datasetId: datasetContents.datasetId }).from(datasetContents);
  for (const { accountId, datasetId } of pending) {
    let key: string | undefined;
    try {
      const [row] = await db.select().from(datasetsTable).where(and(eq(datasetsTable.accountId, accountId), eq(datasetsTable.datasetId, datasetId)));
      if (!row) continue;
      const [file] = row.storageUri === DATASET_STORAGE_URI ? await legacy.files(accountId, datasetId) : [];
      if (file) {
        key = `${datasetPrefix(accountId, datasetId)}${randomUUID()}/${file.fileName}`;
        await store.put(key, legacy.read(accountId, datasetId, file.fileName));
      }
      const movedTo = key;
      const done = await db.transaction(async (tx) => {
        const [locked] = await tx
          .select()
          .from(datasetsTable)
          .where(and(eq(datasetsTable.accountId, accountId), eq(datasetsTable.datasetId, datasetId)))
          .for('update');
        if (!locked || locked.storageUri !== row.storageUri) return false;
        if (movedTo) await tx.update(datasetsTable).set({ storageUri: `${ARTIFACT_URI_PREFIX}${movedTo}` }).where(and(eq(datasetsTable.accountId, accountId), eq(datasetsTable.datasetId, datasetId)));
        await legacy.removeAll(tx as unknown as Db, accountId, datasetId);
        return true;
      });
      if (!done) {
        if (key) await store.delete(key);
        continue;
      }
      if (file) {
        report.moved++;
        report.bytes += file.bytes;
      }
    } catch (err) {
      report.failed++;
      log.error({ err, accountId, datasetId }, 'moving a dataset out of PostgreSQL failed; it is still read from there, the move is retried at the next start');
      if (key) await store.delete(key).catch(() => undefined);
    }
  }
  if (report.moved > 0 || report.failed > 0) log.info({ ...report, store: store.location }, 'dataset bytes moved from PostgreSQL to the artifact store');
  return report;
}
