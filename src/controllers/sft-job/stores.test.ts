// PgSftStores on embedded PostgreSQL and a temp-dir artifact store: the carve-out written in one
// insert (a second pass leaves the first's datasets and no stray file), the quota read and hold
// (a new job's hold in one statement; a holder already holding goes through setHolds).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../../artifacts/index.js';
import { bootstrap } from '../../auth/bootstrap.js';
import { openDatabase, type Database } from '../../db/client.js';
import { getDataset } from '../../db/repositories/datasets.js';
import { getQuota, holdsOf } from '../../db/repositories/quotas.js';
import { PgSftStores } from './stores.js';

const Q = 'a100-us-illinois-2';
let database: Database;
let store: FsArtifactStore;
let dir = '';
let stores: PgSftStores;

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' });
  dir = await mkdtemp(join(tmpdir(), 'hearth-sft-stores-'));
  store = new FsArtifactStore(dir);
  await store.init();
  stores = new PgSftStores(database.db, store);
}, 60_000);

afterAll(async () => {
  await database?.close();
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('PgSftStores', () => {
  it('the trainer token key: 32 bytes, the same for another process on the database (a restart, another replica)', async () => {
    const key = await stores.tokenKey();
    expect(key).toHaveLength(32);
    expect((await new PgSftStores(database.db, store).tokenKey()).equals(key)).toBe(true);
  });

  it('writes the carve-out split as READY datasets in one go; a second pass keeps the first and leaves no stray file', async () => {
    const job = 'accounts/acme/supervisedFineTuningJobs/tune';
    const parts = [
      { datasetId: 'tune-train-split', lines: ['{"a":1}', '{"a":2}'], displayName: 'training split of tune' },
      { datasetId: 'tune-eval-split', lines: ['{"a":3}'], displayName: 'evaluation split of tune' },
    ];
    await stores.writeDatasets('acme', job, parts);
    const train = await getDataset(database.db, 'acme', 'tune-train-split');
    expect(train).toMatchObject({ state: 'READY', format: 'CHAT', exampleCount: 2n, spec: { supervisedFineTuningJob: job } });
    expect((await stores.datasetBytes('acme', 'tune-eval-split')).toString()).toBe('{"a":3}\n');
    await stores.writeDatasets('acme', job, parts);
    expect((await getDataset(database.db, 'acme', 'tune-train-split'))?.storageUri).toBe(train?.storageUri);
    expect((await store.list('datasets/acme/tune-train-split/')).map((o) => o.key)).toHaveLength(1);
    expect((await store.list('datasets/acme/tune-eval-split/')).map((o) => o.key)).toHaveLength(1);
  });

  it('quota: what is left counts the holder\'s own hold; a new hold in one statement, a second one through setHolds; no room says why', async () => {
    expect(await stores.quotaLeft('acme', 'sftjob/a', [Q, 'h100-us-texas-1'])).toEqual(new Map([[Q, 8], ['h100-us-texas-1', 8]]));
    expect(await stores.hold('acme', 'sftjob/a', Q, 4)).toEqual({ ok: true });
    expect(await stores.hold('acme', 'sftjob/a', Q, 5)).toEqual({ ok: true }); // it held 4: now 5
    expect((await holdsOf(database.db, 'acme', 'sftjob/a')).map((h) => [h.quotaName, h.amount])).toEqual([[Q, 5]]);
    expect(await stores.quotaLeft('acme', 'sftjob/a', [Q])).toEqual(new Map([[Q, 8]]));
    expect(await stores.quotaLeft('acme', 'sftjob/b', [Q])).toEqual(new Map([[Q, 3]]));
    expect(await stores.hold('acme', 'sftjob/b', Q, 4)).toEqual({ ok: false, why: `quota ${Q}: 4 GPUs needed, 3 of 8 free` });
    await stores.release('acme', 'sftjob/a');
    expect((await getQuota(database.db, 'acme', Q))?.usage).toBe(0);
  });
});
