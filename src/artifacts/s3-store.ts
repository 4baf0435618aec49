// The S3-compatible artifact store: objects in one bucket (HEARTH_S3_BUCKET) under an optional
// key prefix, through the AWS SDK for JavaScript v3 (@aws-sdk/client-s3), which also speaks to
// MinIO, versitygw, SeaweedFS, Ceph RGW and the like (path-style addressing by default).
//
// Uploads stream through @aws-sdk/lib-storage's `Upload`: a body of unknown length goes up as a
// multipart upload in `partBytes` parts, at most `queueSize` of them in memory at once, so memory
// stays bounded whatever the file size. S3 makes an object visible only when its upload completes;
// a body that throws aborts the multipart upload and nothing appears under the key.
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { checkKey, checkPrefix, type ArtifactStore, type ByteRange, type ObjectInfo, type PutOptions } from './store.js';

export interface S3StoreOptions {
  /** e.g. `http://127.0.0.1:7070`; unset: AWS's endpoint for `region`. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Keys are stored under this prefix (e.g. `hearth/`); empty: the bucket's root. */
  prefix?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** `http://host/bucket/key` instead of `http://bucket.host/key` (what most S3-compatible servers need). */
  forcePathStyle?: boolean;
  /** Create the bucket in `init()` when it is missing. */
  createBucket?: boolean;
  /** Multipart part size (≥ 5 MiB, S3's minimum). */
  partBytes?: number;
  /** Parts in flight (and so in memory) at once. */
  queueSize?: number;
}

export const DEFAULT_PART_BYTES = 8 * 1024 * 1024;
export const DEFAULT_QUEUE_SIZE = 2;

const notFound = (e: unknown): boolean =>
  e instanceof S3ServiceException && (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.name === 'NoSuchBucket' || e.$metadata?.httpStatusCode === 404);

export class S3ArtifactStore implements ArtifactStore {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(private readonly opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ? (opts.prefix.endsWith('/') ? opts.prefix : `${opts.prefix}/`) : '';
    this.client = new S3Client({
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      forcePathStyle: opts.forcePathStyle ?? true,
      ...(opts.accessKeyId && opts.secretAccessKey ? { credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey } } : {}),
      // Checksums only when the operation requires them: S3-compatible servers differ in which of
      // the SDK's newer default checksum headers (CRC32 on every PUT) they accept.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  private full(key: string): string {
    return this.prefix + checkKey(key);
  }

  async init(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      if (!notFound(e) || !this.opts.createBucket) throw e;
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    }
  }

  async put(key: string, body: AsyncIterable<Uint8Array>, opts: PutOptions = {}): Promise<ObjectInfo> {
    const Key = this.full(key);
    let size = 0;
    // Counts what went through; lib-storage reads the body as an async iterable in parts.
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of body) {
        size += chunk.length;
        yield chunk;
      }
    }
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key, Body: Readable.from(counted(), { objectMode: false }) },
      partSize: this.opts.partBytes ?? DEFAULT_PART_BYTES,
      queueSize: this.opts.queueSize ?? DEFAULT_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    const onAbort = (): void => void upload.abort().catch(() => undefined);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      opts.signal?.throwIfAborted();
      await upload.done();
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    return { key, size };
  }

  async get(key: string, range?: ByteRange): Promise<Readable | undefined> {
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.full(key), ...(range ? { Range: `bytes=${range.start}-${range.end ?? ''}` } : {}) }),
      );
      return r.Body as Readable;
    } catch (e) {
      if (notFound(e)) return undefined;
      // A range past the end of an empty object: no bytes.
      if (e instanceof S3ServiceException && e.$metadata?.httpStatusCode === 416) {
        return Readable.from([]);
      }
      throw e;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.full(key) }));
      return { key, size: r.ContentLength ?? 0 };
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    checkPrefix(prefix);
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of r.Contents ?? []) if (o.Key) out.push({ key: o.Key.slice(this.prefix.length), size: o.Size ?? 0 });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.full(key) }));
  }

  async deletePrefix(prefix: string): Promise<void> {
    const objects = await this.list(prefix);
    // DeleteObjects takes at most 1000 keys.
    for (let i = 0; i < objects.length; i += 1000) {
      const batch = objects.slice(i, i + 1000);
      const r = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((o) => ({ Key: this.prefix + o.key })), Quiet: true } }),
      );
      if (r.Errors && r.Errors.length > 0) throw new Error(`deleting ${prefix}: ${r.Errors[0]!.Key}: ${r.Errors[0]!.Message ?? r.Errors[0]!.Code}`);
    }
  }

  async copy(from: string, to: string): Promise<ObjectInfo> {
    // CopySource is `bucket/key`, URL-encoded.
    const source = `${this.bucket}/${this.full(from).split('/').map(encodeURIComponent).join('/')}`;
    await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: this.full(to), CopySource: source }));
    const info = await this.head(to);
    return { key: to, size: info?.size ?? 0 };
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
