// Dataset bytes of batch inference jobs in the artifact store (a directory) with PGlite metadata:
// input read from the object a dataset names (or PostgreSQL, not yet moved); output parts written
// once each, read back one per part, sealed into the dataset's one file.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../../artifacts/index.js';
import { bootstrap } from '../../auth/bootstrap.js';
import { openDatabase, type Database } from '../../db/client.js';
import { createDataset, getDataset } from '../../db/repositories/datasets.js';
import { datasetContents } from '../../db/schema/index.js';
import { PgDatasetCatalog, RESULTS_FILE, StoreDatasetBytes } from './datasets.js';

let database: Database;
let dir: string;
let store: FsArtifactStore;
beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' });
  dir = await mkdtemp(join(tmpdir(), 'bij-bytes-'));
  store = new FsArtifactStore(dir);
  await store.init();
}, 60_000);
afterAll(async () => {
  await store?.close();
  await database?.close();
  await rm(dir, { recursive: true, force: true });
});

async function text(it: AsyncIterable<Uint8Array>): Promise<string[]> {
  const out: string[] = [];
  for await (const c of it) out.push(Buffer.from(c).toString('utf8'));
  return out;
}

async function* body(s: string): AsyncGenerator<Uint8Array> {
  yield Buffer.from(s);
}

describe('StoreDatasetBytes', () => {
  it('reads the input from the object the dataset names, or from PostgreSQL before it moved', async () => {
    const bytes = new StoreDatasetBytes(database.db, store);
    await store.put('datasets/acme/in/u1/in.jsonl', body('a\nb\n'));
    await createDataset(database.db, { accountId: 'acme', datasetId: 'in', state: 'READY', storageUri: 'artifact:datasets/acme/in/u1/in.jsonl' });
    expect((await text(bytes.read({ accountId: 'acme', datasetId: 'in' }))).join('')).toBe('a\nb\n');
    await createDataset(database.db, { accountId: 'acme', datasetId: 'old', state: 'READY', storageUri: 'pg://dataset_contents' });
    await database.db.insert(datasetContents).values({ accountId: 'acme', datasetId: 'old', fileName: 'f.jsonl', chunk: 0, data: Buffer.from('x\n') });
    expect((await text(bytes.read({ accountId: 'acme', datasetId: 'old' }))).join('')).toBe('x\n');
  });

  it('writes each part once, reads them back one per part, seals them into the dataset\'s file', async () => {
    const bytes = new StoreDatasetBytes(database.db, store);
    const catalog = new PgDatasetCatalog(database.db);
    const out = { accountId: 'acme', datasetId: 'out' };
    expect(await catalog.createOutput(out, 'accounts/acme/batchInferenceJobs/j', 'results')).toBe('created');
    expect(await catalog.createOutput(out, 'accounts/acme/batchInferenceJobs/j', 'results')).toBe('ours');
    expect(await catalog.createOutput(out, 'accounts/acme/batchInferenceJobs/other', 'results')).toBe('taken');
    expect(await bytes.writePart(out, RESULTS_FILE, 0, Buffer.from('1\n2\n'))).toBe(true);
    expect(await bytes.writePart(out, RESULTS_FILE, 1, Buffer.from('3\n'))).toBe(true);
    expect(await bytes.writePart(out, RESULTS_FILE, 1, Buffer.from('other\n'))).toBe(false);
    expect(await text(bytes.readParts(out, RESULTS_FILE))).toEqual(['1\n2\n', '3\n']);
    const uri = await bytes.seal(out, RESULTS_FILE);
    expect(uri).toMatch(/^artifact:datasets\/acme\/out\/[0-9a-f-]+\/results\.jsonl$/);
    await catalog.finishOutput(out, 3, uri);
    await bytes.dropParts(out, RESULTS_FILE);
    expect(await store.list('datasets/acme/out/parts/')).toEqual([]);
    expect(await getDataset(database.db, 'acme', 'out')).toMatchObject({ state: 'READY', exampleCount: 3n, storageUri: uri });
    // Sealed: read whole (what a continuation reads), and as the dataset's content.
    expect(await text(bytes.readParts(out, RESULTS_FILE))).toEqual(['1\n2\n3\n']);
    expect((await text(bytes.read(out))).join('')).toBe('1\n2\n3\n');
  });
});
