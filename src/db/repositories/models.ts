// Models (metadata: base models, LoRA adapters produced by fine-tuning or uploaded).
import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../client.js';
import { NotFoundError } from '../errors.js';
import { models, type ModelRow, type NewModelRow } from '../schema/index.js';
import { insertOrExists } from './insert.js';
import { modelName } from './names.js';

export async function createModel(db: Db, values: NewModelRow): Promise<ModelRow> {
  return insertOrExists(
    () => db.insert(models).values(values).onConflictDoNothing().returning(),
    'model',
    modelName(values.accountId, values.modelId),
    values.accountId,
  );
}

export async function getModel(db: Db, accountId: string, modelId: string): Promise<ModelRow | undefined> {
  const [row] = await db
    .select()
    .from(models)
    .where(and(eq(models.accountId, accountId), eq(models.modelId, modelId)));
  return row;
}

export async function listModels(db: Db, accountId: string): Promise<ModelRow[]> {
  return db.select().from(models).where(eq(models.accountId, accountId)).orderBy(asc(models.modelId));
}

export type ModelPatch = Partial<Pick<ModelRow, 'displayName' | 'description' | 'kind' | 'state' | 'status' | 'spec' | 'fineTuningJob'>>;

export async function updateModel(db: Db, accountId: string, modelId: string, patch: ModelPatch, now = new Date()): Promise<ModelRow> {
  const [row] = await db
    .update(models)
    .set({ ...patch, updateTime: now })
    .where(and(eq(models.accountId, accountId), eq(models.modelId, modelId)))
    .returning();
  if (!row) throw new NotFoundError('model', modelName(accountId, modelId));
  return row;
}

export async function deleteModel(db: Db, accountId: string, modelId: string): Promise<void> {
  const rows = await db
    .delete(models)
    .where(and(eq(models.accountId, accountId), eq(models.modelId, modelId)))
    .returning({ id: models.modelId });
  if (rows.length === 0) throw new NotFoundError('model', modelName(accountId, modelId));
}

