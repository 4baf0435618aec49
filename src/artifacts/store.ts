// The artifact store: where the bytes of model files and dataset files live (their metadata stays
// in PostgreSQL). Two backends behind one interface, chosen by configuration (src/config.ts,
// `artifacts`): a directory on the local filesystem (fs-store.ts, the embedded default) and an
// S3-compatible bucket (s3-store.ts).
//
// Keys are `/`-separated relative paths (`models/<account>/<model>/<upload>/<file>`). Every backend
// makes a written object visible only once it is complete — a rename on the filesystem, a completed
// (multipart) upload on S3 — so a reader never sees half of a file, and a failed or aborted write
// leaves nothing behind under its key. Bodies stream in both directions: nothing holds a whole file
// in memory.
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  /** Bytes. */
  size: number;
}

/** Bytes `start` up to and including `end` (HTTP Range semantics); `end` omitted: to the end. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface PutOptions {
  /** Aborts the write; the object is then not created. */
  signal?: AbortSignal;
}

export interface ArtifactStore {
  /** `fs` or `s3`, for logs and `/healthz`-style reports. */
  readonly kind: 'fs' | 's3';
  /** Where it stores, for logs: a directory or `s3://bucket/prefix`. */
  readonly location: string;
  /** Creates what the backend needs (the directory, the bucket); call once at start. */
  init(): Promise<void>;
  /**
   * Writes `body` as the object `key`, replacing one that is there; the object appears only when
   * the whole body was written. If `body` throws (a size check, a client that hung up) the write is
   * abandoned and the error rethrown.
   */
  put(key: string, body: AsyncIterable<Uint8Array>, opts?: PutOptions): Promise<ObjectInfo>;
  /** The object's bytes (or a range of them), streamed; undefined when there is no such object. */
  get(key: string, range?: ByteRange): Promise<Readable | undefined>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Removes the object; no error when it is not there. */
  delete(key: string): Promise<void>;
  /** Removes every object under `prefix` (which must end with '/'). */
  deletePrefix(prefix: string): Promise<void>;
  /** Copies an object inside the store (server-side where the backend can). */
  copy(from: string, to: string): Promise<ObjectInfo>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** Thrown for a key the store refuses (empty segments, `.`/`..`, control characters, …). */
export class InvalidKeyError extends Error {
  constructor(key: string, why: string) {
    super(`invalid artifact key ${JSON.stringify(key.slice(0, 200))}: ${why}`);
    this.name = 'InvalidKeyError';
  }
}

const MAX_KEY_BYTES = 1024;

/**
 * Checks a key: relative, `/`-separated, no empty, `.` or `..` segment, no control characters or
 * backslashes, at most 1024 bytes (S3's limit). Both backends apply the same rule, so a key that
 * works on one works on the other, and a key can never leave the filesystem store's directory.
 */
export function checkKey(key: string): string {
  if (key === '') throw new InvalidKeyError(key, 'empty');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new InvalidKeyError(key, `longer than ${MAX_KEY_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(key)) throw new InvalidKeyError(key, 'contains a control character or a backslash');
  for (const seg of key.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') throw new InvalidKeyError(key, 'has an empty, "." or ".." segment');
  }
  return key;
}

/** A prefix: a key followed by '/'. */
export function checkPrefix(prefix: string): string {
  if (!prefix.endsWith('/')) throw new InvalidKeyError(prefix, 'a prefix must end with "/"');
  checkKey(prefix.slice(0, -1));
  return prefix;
}

/** Reads a whole (small) range into memory: headers, configs. */
export async function readRange(store: ArtifactStore, key: string, range?: ByteRange): Promise<Buffer | undefined> {
  const body = await store.get(key, range);
  if (!body) return undefined;
  const parts: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}
