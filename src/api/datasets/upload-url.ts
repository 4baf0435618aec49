// Signed file URLs (`:getUploadEndpoint`, `:getDownloadEndpoint`): like the cloud-storage URLs
// Fireworks hands out, they need no API key; an HMAC binds them to one operation (upload or
// download), account, dataset, file name and size, and they expire. A `PUT` of the raw bytes to an
// upload URL stores the file; a `GET` of a download URL returns it (src/api/routes/datasets.ts).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const FILES_PATH_PREFIX = '/v1-files/datasets';
export const DEFAULT_UPLOAD_URL_TTL_MS = 60 * 60 * 1000;

/** Per process unless configured: a URL signed by one replica works on all only with a shared secret. */
const PROCESS_SECRET = randomBytes(32);

export interface UploadGrant {
  op: 'upload' | 'download';
  accountId: string;
  datasetId: string;
  fileName: string;
  /** Size in bytes; an upload's body must be exactly this long. */
  size: number;
  /** Unix milliseconds. */
  expires: number;
}

export class UploadUrlSigner {
  private readonly secret: Buffer;

  constructor(secret?: string | Buffer) {
    this.secret = secret === undefined ? PROCESS_SECRET : Buffer.isBuffer(secret) ? secret : Buffer.from(secret, 'utf8');
  }

  private mac(g: UploadGrant): Buffer {
    const canonical = JSON.stringify(['dataset-file-v1', g.op, g.accountId, g.datasetId, g.fileName, g.size, g.expires]);
    return createHmac('sha256', this.secret).update(canonical).digest();
  }

  /** The path and query of the signed URL (prefix it with the public base URL). */
  pathFor(g: UploadGrant): string {
    const q = new URLSearchParams({ size: String(g.size), expires: String(g.expires), signature: this.mac(g).toString('base64url') });
    return `${FILES_PATH_PREFIX}/${encodeURIComponent(g.accountId)}/${encodeURIComponent(g.datasetId)}/${encodeURIComponent(g.fileName)}?${q.toString()}`;
  }

  /** The grant a signed request carries, or why it is not valid. */
  verify(parts: { op: UploadGrant['op']; accountId: string; datasetId: string; fileName: string; size?: string; expires?: string; signature?: string }, now: number): UploadGrant | { error: string } {
    const size = Number(parts.size);
    const expires = Number(parts.expires);
    if (!Number.isSafeInteger(size) || size < 0 || !Number.isSafeInteger(expires) || !parts.signature) return { error: 'the URL is incomplete (size, expires and signature are required)' };
    const grant: UploadGrant = { op: parts.op, accountId: parts.accountId, datasetId: parts.datasetId, fileName: parts.fileName, size, expires };
    const given = Buffer.from(parts.signature, 'base64url');
    const want = this.mac(grant);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return { error: 'the URL signature is not valid' };
    if (now > expires) return { error: `the URL has expired; ask :${parts.op === 'upload' ? 'getUploadEndpoint' : 'getDownloadEndpoint'} for a new one` };
    return grant;
  }
}
