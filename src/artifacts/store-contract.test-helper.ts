// What every ArtifactStore backend must do, as one suite: the filesystem store runs it in the unit
// project (fs-store.test.ts), the S3 store against a real S3-compatible server in the integration
// project (test/integration/artifacts-s3.test.ts).
import { describe, expect, it } from 'vitest';
import { InvalidKeyError, readRange, type ArtifactStore } from './store.js';

async function* chunks(...parts: (string | Buffer)[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.isBuffer(p) ? p : Buffer.from(p);
}

async function text(store: ArtifactStore, key: string, range?: { start: number; end?: number }): Promise<string | undefined> {
  return (await readRange(store, key, range))?.toString('utf8');
}

/** `store()` returns the store under test with nothing under `ns/` (a fresh namespace per test file). */
export function describeArtifactStore(name: string, store: () => ArtifactStore, ns: string): void {
  const k = (key: string): string => `${ns}/${key}`;

  describe(`${name}: the ArtifactStore contract`, () => {
    it('stores a streamed body and returns it whole, in ranges, with its size', async () => {
      const s = store();
      expect(await s.put(k('m/1/config.json'), chunks('{"a":', '1}'))).toEqual({ key: k('m/1/config.json'), size: 7 });
      expect(await text(s, k('m/1/config.json'))).toBe('{"a":1}');
      expect(await text(s, k('m/1/config.json'), { start: 1, end: 3 })).toBe('"a"');
      expect(await text(s, k('m/1/config.json'), { start: 5 })).toBe('1}');
      expect(await s.head(k('m/1/config.json'))).toEqual({ key: k('m/1/config.json'), size: 7 });
    });

    it('stores an empty object', async () => {
      const s = store();
      expect(await s.put(k('empty/x'), chunks())).toEqual({ key: k('empty/x'), size: 0 });
      expect(await s.head(k('empty/x'))).toEqual({ key: k('empty/x'), size: 0 });
      expect(await text(s, k('empty/x'))).toBe('');
    });

    it('answers undefined for a missing object, and deleting one is no error', async () => {
      const s = store();
      expect(await s.head(k('missing/x'))).toBeUndefined();
      expect(await s.get(k('missing/x'))).toBeUndefined();
      await s.delete(k('missing/x'));
      expect(await s.list(k('missing/'))).toEqual([]);
    });

    it('replaces an object as a whole', async () => {
      const s = store();
      await s.put(k('r/f'), chunks('first version, longer'));
      await s.put(k('r/f'), chunks('second'));
      expect(await text(s, k('r/f'))).toBe('second');
    });

    it('keeps nothing of a write whose body fails, and the previous object stays', async () => {
      const s = store();
      await s.put(k('fail/kept'), chunks('old'));
      async function* failing(): AsyncGenerator<Buffer> {
        yield Buffer.alloc(64 * 1024, 1);
        throw new Error('client went away');
      }
      await expect(s.put(k('fail/kept'), failing())).rejects.toThrow(/client went away/);
      await expect(s.put(k('fail/new'), failing())).rejects.toThrow(/client went away/);
      expect(await text(s, k('fail/kept'))).toBe('old');
      expect(await s.head(k('fail/new'))).toBeUndefined();
      expect((await s.list(k('fail/'))).map((o) => o.key)).toEqual([k('fail/kept')]);
    });

    it('lists what is under a prefix, in key order, and nothing beside it', async () => {
      const s = store();
      await s.put(k('l/a/2'), chunks('22'));
      await s.put(k('l/a/1'), chunks('1'));
      await s.put(k('l/a/sub/3'), chunks('333'));
      await s.put(k('l/ab/4'), chunks('4'));
      expect(await s.list(k('l/a/'))).toEqual([
        { key: k('l/a/1'), size: 1 },
        { key: k('l/a/2'), size: 2 },
        { key: k('l/a/sub/3'), size: 3 },
      ]);
    });

    it('copies an object and deletes a whole prefix', async () => {
      const s = store();
      await s.put(k('c/from/x'), chunks('payload'));
      expect(await s.copy(k('c/from/x'), k('c/to/y'))).toEqual({ key: k('c/to/y'), size: 7 });
      expect(await text(s, k('c/to/y'))).toBe('payload');
      await s.deletePrefix(k('c/from/'));
      expect(await s.list(k('c/from/'))).toEqual([]);
      expect(await text(s, k('c/to/y'))).toBe('payload');
      await s.delete(k('c/to/y'));
      expect(await s.head(k('c/to/y'))).toBeUndefined();
    });

    it('refuses keys that could escape or alias: empty, "." and ".." segments, backslashes, control characters', async () => {
      const s = store();
      for (const bad of ['', '../x', `${ns}/../x`, `${ns}//x`, `${ns}/./x`, `${ns}/a\\b`, `${ns}/a\nb`, `/${ns}/x`]) {
        await expect(s.put(bad, chunks('x')), JSON.stringify(bad)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(s.head(bad), JSON.stringify(bad)).rejects.toBeInstanceOf(InvalidKeyError);
      }
      await expect(s.list(`${ns}/no-slash`)).rejects.toBeInstanceOf(InvalidKeyError);
    });

    it('takes keys with spaces, unicode and URL-special characters', async () => {
      const s = store();
      const key = k('odd/a b+c%20d?e#f=g&h/ünï çødé.json');
      await s.put(key, chunks('ok'));
      expect(await text(s, key)).toBe('ok');
      expect((await s.list(k('odd/'))).map((o) => o.key)).toEqual([key]);
      expect(await s.copy(key, k('odd/copy é'))).toMatchObject({ size: 2 });
    });
  });
}
