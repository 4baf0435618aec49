// Datasets stored in PostgreSQL chunks before the artifact store: read from there until moved,
// moved at start (file and row in step), chunks gone after; a second run has nothing to do.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../../artifacts/index.js';
import { bootstrap } from '../../auth/bootstrap.js';
import { openDatabase, type Database } from '../../db/client.js';
import { createDataset, getDataset, updateDataset } from '../../db/repositories/datasets.js';
import { silentLogger } from '../../log.js';
import { DatasetFiles } from './files.js';
import { moveDatasetBytesToStore } from './migrate-bytea.js';
import { DATASET_STORAGE_URI, DatasetContents } from './storage.js';

let database: Database;
let dir: string;
let store: FsArtifactStore;
const log = silentLogger();

/** A dataset as the chunked PostgreSQL storage left it: READY, `pg://dataset_contents`, 10-byte chunks. */
async function legacyDataset(id: string, content: string, opts: { staging?: boolean } = {}): Promise<void> {
  await createDataset(database.db, { accountId: 'acme', datasetId: id });
  const legacy = new DatasetContents(database.db, 10);
  const w = legacy.writer('acme', id, 'train.jsonl');
  await w.write(Buffer.from(content));
  await w.finish();
  await legacy.commit(w, async (tx) => updateDataset(tx, 'acme', id, { storageUri: DATASET_STORAGE_URI, state: 'READY' }));
  if (opts.staging) {
    const abandoned = legacy.writer('acme', id, 'crashed.jsonl');
    await abandoned.write(Buffer.from('half an upload'));
    await abandoned.finish();
  }
}

async function text(body: AsyncIterable<Buffer | string> | undefined): Promise<string | undefined> {
  if (!body) return undefined;
  let out = '';
  for await (const c of body) out += c.toString();
  return out;
}

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' });
  dir = mkdtempSync(join(tmpdir(), 'hearth-migrate-'));
  store = new FsArtifactStore(dir);
  await store.init();
}, 60_000);

afterAll(async () => {
  await database?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('datasets stored in PostgreSQL before the artifact store', () => {
  const content = `${'{"messages":[]}\n'.repeat(5)}`;

  it('are read from PostgreSQL until moved', async () => {
    await legacyDataset('old-read', content);
    const files = new DatasetFiles(database.db, store, log);
    const row = (await getDataset(database.db, 'acme', 'old-read'))!;
    expect(await files.files(row)).toEqual([{ fileName: 'train.jsonl', bytes: content.length }]);
    expect(await text(await files.open(row, 'train.jsonl'))).toBe(content);
  });

  it('move into the store at start: the row points at the object, the chunks (and abandoned stagings) are gone, a second run moves nothing', async () => {
    await legacyDataset('old-move', content, { staging: true });
    const legacy = new DatasetContents(database.db);
    expect(await legacy.rowCount('acme', 'old-move')).toBeGreaterThan(1);

    const report = await moveDatasetBytesToStore(database.db, store, log);
    expect(report).toEqual({ moved: 2, bytes: 2 * content.length, failed: 0 });

    const row = (await getDataset(database.db, 'acme', 'old-move'))!;
    expect(row.storageUri).toMatch(/^artifact:datasets\/acme\/old-move\/[\w-]+\/train\.jsonl$/);
    expect(row.state).toBe('READY');
    expect(await legacy.rowCount('acme', 'old-move')).toBe(0);
    expect(await legacy.rowCount('acme', 'old-read')).toBe(0);
    const files = new DatasetFiles(database.db, store, log);
    expect(await files.files(row)).toEqual([{ fileName: 'train.jsonl', bytes: content.length }]);
    expect(await text(await files.open(row, 'train.jsonl'))).toBe(content);
    expect((await store.list('datasets/acme/old-move/')).length).toBe(1);

    expect(await moveDatasetBytesToStore(database.db, store, log)).toEqual({ moved: 0, bytes: 0, failed: 0 });
  });

  it('a failed move leaves the dataset readable from PostgreSQL and nothing in the store', async () => {
    await legacyDataset('old-fail', content);
    const broken = new FsArtifactStore(join(dir, 'not-a-dir', 'x'));
    // The store cannot write (its directory's parent is a file).
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'not-a-dir'), 'file');
    const errors: unknown[] = [];
    const report = await moveDatasetBytesToStore(database.db, broken, { info: () => undefined, warn: () => undefined, error: (o: unknown) => void errors.push(o) } as never);
    expect(report).toMatchObject({ moved: 0, failed: 1 });
    expect(errors).toHaveLength(1);
    const row = (await getDataset(database.db, 'acme', 'old-fail'))!;
    expect(row.storageUri).toBe(DATASET_STORAGE_URI);
    expect(await text(await new DatasetFiles(database.db, store, log).open(row, 'train.jsonl'))).toBe(content);
  });
});
