// The filesystem artifact store: one directory (HEARTH_ARTIFACT_DIR), an object per file at
// `<dir>/<key>`. Writes go to `<dir>/.staging/<random>` and are renamed into place once complete
// and flushed, so a key names either the old file or the whole new one, never a partial write.
// `.staging` can never be a key (a key segment may not start a hidden staging path: see `list`).
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { checkKey, checkPrefix, type ArtifactStore, type ByteRange, type ObjectInfo, type PutOptions } from './store.js';

const STAGING = '.staging';
const STALE_STAGING_MS = 24 * 60 * 60 * 1000;

/** Writes `body` to a new file `file` and flushes it; returns the bytes written. */
async function writeFile(file: string, body: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): Promise<number> {
  const fh = await open(file, 'wx');
  let size = 0;
  try {
    for await (const chunk of body) {
      signal?.throwIfAborted();
      // FileHandle.write may write less than asked: loop until the chunk is out.
      for (let off = 0; off < chunk.length; ) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      size += chunk.length;
    }
    signal?.throwIfAborted();
    await fh.sync();
  } finally {
    await fh.close();
  }
  return size;
}

const isNotFound = (e: unknown): boolean => (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' || (e as NodeJS.ErrnoException | undefined)?.code === 'ENOTDIR';

export class FsArtifactStore implements ArtifactStore {
  readonly kind = 'fs' as const;
  readonly root: string;

  constructor(dir: string) {
    this.root = path.resolve(dir);
  }

  get location(): string {
    return this.root;
  }

  /**
   * Creates the directory, and removes staging files a crashed process left (older than a day:
   * another replica sharing the directory may be writing the younger ones right now).
   */
  async init(now = Date.now()): Promise<void> {
    const staging = path.join(this.root, STAGING);
    await mkdir(staging, { recursive: true });
    for (const name of await readdir(staging)) {
      const file = path.join(staging, name);
      const s = await stat(file).catch(() => undefined);
      if (s && now - s.mtimeMs > STALE_STAGING_MS) await rm(file, { force: true });
    }
  }

  private pathOf(key: string): string {
    checkKey(key);
    if (key.split('/')[0] === STAGING) throw new Error(`artifact key "${key}" is reserved`);
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, body: AsyncIterable<Uint8Array>, opts: PutOptions = {}): Promise<ObjectInfo> {
    const final = this.pathOf(key);
    const tmp = path.join(this.root, STAGING, randomUUID());
    await mkdir(path.dirname(tmp), { recursive: true });
    let size: number;
    try {
      size = await writeFile(tmp, body, opts.signal);
      await mkdir(path.dirname(final), { recursive: true });
      await rename(tmp, final);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return { key, size };
  }

  async get(key: string, range?: ByteRange): Promise<Readable | undefined> {
    const file = this.pathOf(key);
    const info = await this.statFile(file);
    if (!info) return undefined;
    // Open now (not lazily in the stream) so a file removed after the check reads as missing.
    const fh = await open(file, 'r').catch((e: unknown) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    if (!fh) return undefined;
    return createReadStream('', { fd: fh, autoClose: true, ...(range ? { start: range.start, ...(range.end !== undefined ? { end: range.end } : {}) } : {}) });
  }

  private async statFile(file: string): Promise<{ size: number } | undefined> {
    try {
      const s = await stat(file);
      return s.isFile() ? { size: s.size } : undefined;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const s = await this.statFile(this.pathOf(key));
    return s ? { key, size: s.size } : undefined;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    checkPrefix(prefix);
    const dir = this.pathOf(prefix.slice(0, -1));
    const out: ObjectInfo[] = [];
    const walk = async (abs: string, rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(abs, { withFileTypes: true });
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
      for (const ent of entries) {
        const childRel = `${rel}${ent.name}`;
        if (ent.isDirectory()) await walk(path.join(abs, ent.name), `${childRel}/`);
        else if (ent.isFile()) {
          const s = await this.statFile(path.join(abs, ent.name));
          if (s) out.push({ key: childRel, size: s.size });
        }
      }
    };
    await walk(dir, prefix);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<void> {
    checkPrefix(prefix);
    await rm(this.pathOf(prefix.slice(0, -1)), { recursive: true, force: true });
  }

  async copy(from: string, to: string): Promise<ObjectInfo> {
    const src = this.pathOf(from);
    const dst = this.pathOf(to);
    const tmp = path.join(this.root, STAGING, randomUUID());
    try {
      await copyFile(src, tmp);
      await mkdir(path.dirname(dst), { recursive: true });
      await rename(tmp, dst);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    const s = await this.statFile(dst);
    return { key: to, size: s?.size ?? 0 };
  }

  async close(): Promise<void> {}
}
