import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from './fs-store.js';
import { describeArtifactStore } from './store-contract.test-helper.js';

let dir: string;
let store: FsArtifactStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-fs-store-'));
  store = new FsArtifactStore(dir);
  await store.init();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeArtifactStore('FsArtifactStore', () => store, 'contract');

describe('FsArtifactStore', () => {
  it('keeps files under its directory, at the key\'s path, and no staging file after a write (failed or not)', async () => {
    await store.put('fs/a/b.txt', (async function* () {
      yield Buffer.from('x');
    })());
    await expect(
      store.put('fs/a/c.txt', (async function* () {
        yield Buffer.from('x');
        throw new Error('boom');
      })()),
    ).rejects.toThrow('boom');
    expect(readdirSync(join(dir, 'fs', 'a'))).toEqual(['b.txt']);
    expect(readdirSync(join(dir, '.staging'))).toEqual([]);
  });

  it('removes staging files older than a day at init (a crashed write), keeps younger ones (another replica writing)', async () => {
    const { utimesSync, writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, '.staging', 'old'), 'x');
    writeFileSync(join(dir, '.staging', 'young'), 'x');
    const now = Date.now();
    utimesSync(join(dir, '.staging', 'old'), new Date(now - 25 * 3600_000), new Date(now - 25 * 3600_000));
    await store.init(now);
    expect(readdirSync(join(dir, '.staging'))).toEqual(['young']);
    await store.init(now + 25 * 3600_000);
    expect(readdirSync(join(dir, '.staging'))).toEqual([]);
  });

  it('never lets a key name its staging area', async () => {
    await expect(store.head('.staging/x')).rejects.toThrow(/reserved/);
  });

  it('stops a write when its signal aborts, leaving nothing', async () => {
    const ac = new AbortController();
    async function* body(): AsyncGenerator<Buffer> {
      yield Buffer.from('part');
      ac.abort(new Error('cancelled'));
      yield Buffer.from('more');
    }
    await expect(store.put('fs/aborted', body(), { signal: ac.signal })).rejects.toThrow('cancelled');
    expect(await store.head('fs/aborted')).toBeUndefined();
  });
});
