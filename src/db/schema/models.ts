// Models and datasets: metadata only. The columns are what lists filter and sort on and what the
// server owns (state, times); the remaining user-writable fields of the wire resource live in
// `spec` as proto3-JSON (camelCase) so new fields need no migration. Dataset bytes live behind a
// storage interface; `storageUri` says where.
import { bigint, customType, foreignKey, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { accounts } from './accounts.js';

export const MODEL_STATES = ['STATE_UNSPECIFIED', 'UPLOADING', 'READY'] as const;
export type ModelState = (typeof MODEL_STATES)[number];
export const DATASET_STATES = MODEL_STATES;
export type DatasetState = ModelState;

/** `gatewayStatus`: `{code: <Code name>, message}`. */
export interface ResourceStatus {
  code: string;
  message?: string;
}

/**
 * A model's files in the artifact store (src/artifacts): what the last `:getUploadEndpoint` asked
 * for (`declared`, name → bytes) and what arrived (`uploaded`, name → the object's key and size).
 * Each upload writes a new object and then records it here under the row lock, so the row only
 * ever names complete objects; `:validateUpload` checks `uploaded` against `declared` and the
 * model kind's rules before the model becomes READY.
 */
export interface ModelFiles {
  declared: Record<string, number>;
  uploaded: Record<string, { key: string; size: number }>;
}

export const models = pgTable(
  'models',
  {
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.accountId, { onDelete: 'cascade' }),
    modelId: text('model_id').notNull(),
    displayName: text('display_name').notNull().default(''),
    description: text('description').notNull().default(''),
    kind: text('kind').notNull().default('HF_PEFT_ADDON'),
    state: text('state').$type<ModelState>().notNull().default('UPLOADING'),
    status: jsonb('status').$type<ResourceStatus>().notNull().default({ code: 'OK' }),
    /** Other writable fields of `gatewayModel` (baseModelDetails, peftDetails, contextLength, …). */
    spec: jsonb('spec').$type<Record<string, unknown>>().notNull().default({}),
    /** Lineage, e.g. `accounts/a/supervisedFineTuningJobs/j` for a LoRA produced by an SFT job. */
    fineTuningJob: text('fine_tuning_job'),
    /** The model's files (null: nothing asked for or uploaded yet). */
    files: jsonb('files').$type<ModelFiles>(),
    createdBy: text('created_by').notNull().default(''),
    createTime: timestamp('create_time', { withTimezone: true }).notNull().defaultNow(),
    updateTime: timestamp('update_time', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.modelId] }), index('models_account_create_idx').on(t.accountId, t.createTime)],
);

export const datasets = pgTable(
  'datasets',
  {
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.accountId, { onDelete: 'cascade' }),
    datasetId: text('dataset_id').notNull(),
    displayName: text('display_name').notNull().default(''),
    state: text('state').$type<DatasetState>().notNull().default('UPLOADING'),
    status: jsonb('status').$type<ResourceStatus>().notNull().default({ code: 'OK' }),
    format: text('format').notNull().default('FORMAT_UNSPECIFIED'),
    exampleCount: bigint('example_count', { mode: 'bigint' }),
    estimatedTokenCount: bigint('estimated_token_count', { mode: 'bigint' }),
    /** Other writable fields of `gatewayDataset` (source oneof, externalUrl, evalProtocol, …). */
    spec: jsonb('spec').$type<Record<string, unknown>>().notNull().default({}),
    /** Where the bytes are, in the storage interface's terms (e.g. `file:///data/a/ds.jsonl`). */
    storageUri: text('storage_uri'),
    createdBy: text('created_by').notNull().default(''),
    createTime: timestamp('create_time', { withTimezone: true }).notNull().defaultNow(),
    updateTime: timestamp('update_time', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.datasetId] }), index('datasets_account_create_idx').on(t.accountId, t.createTime)],
);

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/**
 * A dataset's uploaded bytes, in chunks of at most a few MiB (so one row never holds a huge
 * value), for `storageUri = pg://dataset_contents`. Every API replica reads and writes the same
 * bytes without a shared filesystem.
 */
export const datasetContents = pgTable(
  'dataset_contents',
  {
    accountId: text('account_id').notNull(),
    datasetId: text('dataset_id').notNull(),
    /** File name as uploaded (`filename` of the multipart part), e.g. `train.jsonl`. */
    fileName: text('file_name').notNull(),
    chunk: integer('chunk').notNull(),
    data: bytea('data').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.datasetId, t.fileName, t.chunk] }),
    foreignKey({ columns: [t.accountId, t.datasetId], foreignColumns: [datasets.accountId, datasets.datasetId] }).onDelete('cascade'),
  ],
);

export type ModelRow = typeof models.$inferSelect;
export type NewModelRow = typeof models.$inferInsert;
export type DatasetRow = typeof datasets.$inferSelect;
export type NewDatasetRow = typeof datasets.$inferInsert;
