// Signed file URLs (`:getUploadEndpoint`, `:getDownloadEndpoint` of datasets and models): like the
// cloud-storage URLs Fireworks hands out, they need no API key; an HMAC binds them to one operation
// (upload or download), collection, account, resource, file name and size, and they expire. A
// `PUT` of the raw bytes to an upload URL stores the file; a `GET` of a download URL returns it
// (src/api/routes/datasets.ts, src/api/routes/models.ts; the DeployedModel controller signs
// download URLs for model-server pods). One scheme for every collection: the
// collection is part of both the path and the signed text, so a dataset's URL never opens a model.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const FILES_PATH_ROOT = '/v1-files';
export type FileCollection = 'datasets' | 'models';
export const filesPathPrefix = (collection: FileCollection): string => `${FILES_PATH_ROOT}/${collection}`;
export const DEFAULT_UPLOAD_URL_TTL_MS = 60 * 60 * 1000;

/** Per process unless configured: a URL signed by one replica works on all only with a shared secret. */
const PROCESS_SECRET = randomBytes(32);

/** The signed text's first element: per collection, so URLs of one never verify as the other's. */
const DOMAIN: Record<FileCollection, string> = { datasets: 'dataset-file-v1', models: 'model-file-v1' };

export interface FileGrant {
  op: 'upload' | 'download';
  collection: FileCollection;
  accountId: string;
  /** The dataset or model id. */
  resourceId: string;
  fileName: string;
  /** Size in bytes; an upload's body must be exactly this long. */
  size: number;
  /** Unix milliseconds. */
  expires: number;
}

export class FileUrlSigner {
  private readonly secret: Buffer;

  constructor(secret?: string | Buffer) {
    this.secret = secret === undefined ? PROCESS_SECRET : Buffer.isBuffer(secret) ? secret : Buffer.from(secret, 'utf8');
  }

  private mac(g: FileGrant): Buffer {
    const canonical = JSON.stringify([DOMAIN[g.collection], g.op, g.accountId, g.resourceId, g.fileName, g.size, g.expires]);
    return createHmac('sha256', this.secret).update(canonical).digest();
  }

  /** The path and query of the signed URL (prefix it with the public base URL). */
  pathFor(g: FileGrant): string {
    const q = new URLSearchParams({ size: String(g.size), expires: String(g.expires), signature: this.mac(g).toString('base64url') });
    return `${filesPathPrefix(g.collection)}/${encodeURIComponent(g.accountId)}/${encodeURIComponent(g.resourceId)}/${encodeURIComponent(g.fileName)}?${q.toString()}`;
  }

  /** The grant a signed request carries, or why it is not valid. */
  verify(
    parts: { op: FileGrant['op']; collection: FileCollection; accountId: string; resourceId: string; fileName: string; size?: string; expires?: string; signature?: string },
    now: number,
  ): FileGrant | { error: string } {
    const size = Number(parts.size);
    const expires = Number(parts.expires);
    if (!Number.isSafeInteger(size) || size < 0 || !Number.isSafeInteger(expires) || !parts.signature) return { error: 'the URL is incomplete (size, expires and signature are required)' };
    const grant: FileGrant = { op: parts.op, collection: parts.collection, accountId: parts.accountId, resourceId: parts.resourceId, fileName: parts.fileName, size, expires };
    const given = Buffer.from(parts.signature, 'base64url');
    const want = this.mac(grant);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return { error: 'the URL signature is not valid' };
    if (now > expires) return { error: `the URL has expired; ask :${parts.op === 'upload' ? 'getUploadEndpoint' : 'getDownloadEndpoint'} for a new one` };
    return grant;
  }
}

/** A signed URL: `base` (the configured public URL, else the request's origin) + the signed path, valid `ttlMs` from `now`. */
export function signedFileUrl(signer: FileUrlSigner, base: string, g: Omit<FileGrant, 'expires'>, at: { now: number; ttlMs?: number | undefined }): string {
  return `${base.replace(/\/+$/, '')}${signer.pathFor({ ...g, expires: at.now + (at.ttlMs ?? DEFAULT_UPLOAD_URL_TTL_MS) })}`;
}
