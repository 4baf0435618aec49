import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../db/client.js';
import { NotFoundError } from '../../db/errors.js';
import { createDataset, deleteDataset } from '../../db/repositories/datasets.js';
import { bootstrap } from '../../auth/bootstrap.js';
import { DatasetContents, sanitizeFileName } from './storage.js';

let database: Database;
let store: DatasetContents;

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' });
  for (const id of ['a', 'b', 'gone']) await createDataset(database.db, { accountId: 'acme', datasetId: id });
  store = new DatasetContents(database.db, 10);
}, 60_000);

afterAll(async () => {
  await database?.close();
});

async function readAll(id: string, file: string): Promise<{ text: string; sizes: number[] }> {
  const sizes: number[] = [];
  let text = '';
  for await (const c of store.read('acme', id, file)) {
    sizes.push(c.length);
    text += c.toString('utf8');
  }
  return { text, sizes };
}

describe('DatasetContents', () => {
  it('writes chunks of at most chunkBytes whatever the write sizes, visible only after commit', async () => {
    const w = store.writer('acme', 'a', 'train.jsonl');
    for (const piece of ['abc', 'defghijklmnop', '', 'q', 'rstuvwxyz0123']) await w.write(Buffer.from(piece));
    expect(await w.finish()).toEqual({ fileName: 'train.jsonl', bytes: 30, chunks: 3 });
    expect(await store.files('acme', 'a')).toEqual([]);
    expect(await store.rowCount('acme', 'a')).toBe(3);
    await store.commit(w, async () => undefined);
    expect(await store.files('acme', 'a')).toEqual([{ fileName: 'train.jsonl', bytes: 30, chunks: 3 }]);
    expect(await readAll('a', 'train.jsonl')).toEqual({ text: 'abcdefghijklmnopqrstuvwxyz0123', sizes: [10, 10, 10] });
    const md5 = (t: string) => createHash('md5').update(t).digest('hex');
    expect(await store.chunkDigests(database.db, 'acme', 'a', 'train.jsonl')).toEqual(['abcdefghij', 'klmnopqrst', 'uvwxyz0123'].map(md5));
  });

  it('a commit replaces the previous file and leftover stagings; discard removes a staging', async () => {
    const left = store.writer('acme', 'a', 'x.jsonl');
    await left.write(Buffer.from('leftover'));
    await left.finish();
    const w = store.writer('acme', 'a', 'new.jsonl');
    await w.write(Buffer.from('hello'));
    await w.finish();
    expect(await store.commit(w, async () => 'then ran')).toBe('then ran');
    expect(await store.files('acme', 'a')).toEqual([{ fileName: 'new.jsonl', bytes: 5, chunks: 1 }]);
    expect(await store.rowCount('acme', 'a')).toBe(1);

    const d = store.writer('acme', 'b', 'f.jsonl');
    await d.write(Buffer.alloc(25, 1));
    await store.discard(d);
    expect(await store.rowCount('acme', 'b')).toBe(0);
  });

  it('a commit whose staging lost chunks to a concurrent commit is ABORTED and changes nothing', async () => {
    const slow = store.writer('acme', 'a', 'slow.jsonl');
    await slow.write(Buffer.alloc(25, 0x61));
    const fast = store.writer('acme', 'a', 'fast.jsonl');
    await fast.write(Buffer.from('fast'));
    await fast.finish();
    await store.commit(fast, async () => undefined);
    await slow.write(Buffer.alloc(5, 0x62));
    await slow.finish();
    await expect(store.commit(slow, async () => undefined)).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await store.files('acme', 'a')).toEqual([{ fileName: 'fast.jsonl', bytes: 4, chunks: 1 }]);
    await store.discard(slow);
    const w = store.writer('acme', 'a', 'new.jsonl');
    await w.write(Buffer.from('hello'));
    await w.finish();
    await store.commit(w, async () => undefined);
  });

  it('a failing `then` rolls the commit back', async () => {
    const w = store.writer('acme', 'a', 'other.jsonl');
    await w.write(Buffer.from('zzz'));
    await w.finish();
    await expect(store.commit(w, async () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(await store.files('acme', 'a')).toEqual([{ fileName: 'new.jsonl', bytes: 5, chunks: 1 }]);
  });

  it('an empty file is one empty chunk; a deleted dataset is NOT_FOUND', async () => {
    const w = store.writer('acme', 'b', 'empty.jsonl');
    expect(await w.finish()).toEqual({ fileName: 'empty.jsonl', bytes: 0, chunks: 1 });
    await store.discard(w);
    await deleteDataset(database.db, 'acme', 'gone');
    const g = store.writer('acme', 'gone', 'f.jsonl');
    await expect(g.write(Buffer.alloc(20))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('keeps only the last segment of a file name', () => {
    expect(sanitizeFileName('../../etc/passwd')).toBe('passwd');
    expect(sanitizeFileName('C:\\data\\train.jsonl')).toBe('train.jsonl');
    expect(sanitizeFileName('')).toBe('dataset.jsonl');
    expect(sanitizeFileName('..')).toBe('dataset.jsonl');
    expect(sanitizeFileName('a\u0000b.jsonl')).toBe('ab.jsonl');
  });
});
