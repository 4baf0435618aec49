// Datasets (metadata). The bytes are behind a storage interface; `storageUri` says where.
import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../client.js';
import { NotFoundError } from '../errors.js';
import { datasets, type DatasetRow, type NewDatasetRow } from '../schema/index.js';
import { insertOrExists } from './insert.js';
import { datasetName } from './names.js';

export async function createDataset(db: Db, values: NewDatasetRow): Promise<DatasetRow> {
  return insertOrExists(
    () => db.insert(datasets).values(values).onConflictDoNothing().returning(),
    'dataset',
    datasetName(values.accountId, values.datasetId),
    values.accountId,
  );
}

export async function getDataset(db: Db, accountId: string, datasetId: string): Promise<DatasetRow | undefined> {
  const [row] = await db
    .select()
    .from(datasets)
    .where(and(eq(datasets.accountId, accountId), eq(datasets.datasetId, datasetId)));
  return row;
}

export async function listDatasets(db: Db, accountId: string): Promise<DatasetRow[]> {
  return db.select().from(datasets).where(eq(datasets.accountId, accountId)).orderBy(asc(datasets.datasetId));
}

export type DatasetPatch = Partial<
  Pick<DatasetRow, 'displayName' | 'state' | 'status' | 'format' | 'exampleCount' | 'estimatedTokenCount' | 'spec' | 'storageUri'>
>;

export async function updateDataset(db: Db, accountId: string, datasetId: string, patch: DatasetPatch): Promise<DatasetRow> {
  const [row] = await db
    .update(datasets)
    .set({ ...patch, updateTime: new Date() })
    .where(and(eq(datasets.accountId, accountId), eq(datasets.datasetId, datasetId)))
    .returning();
  if (!row) throw new NotFoundError('dataset', datasetName(accountId, datasetId));
  return row;
}

export async function deleteDataset(db: Db, accountId: string, datasetId: string): Promise<void> {
  const rows = await db
    .delete(datasets)
    .where(and(eq(datasets.accountId, accountId), eq(datasets.datasetId, datasetId)))
    .returning({ id: datasets.datasetId });
  if (rows.length === 0) throw new NotFoundError('dataset', datasetName(accountId, datasetId));
}
