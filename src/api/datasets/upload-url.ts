// Signed upload URLs (`:getUploadEndpoint`): like the cloud-storage URLs Fireworks hands out, they
// need no API key; an HMAC binds them to one account, dataset, file name and size, and they expire.
// A `PUT` of the raw bytes to one stores the file (src/api/routes/datasets.ts).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const UPLOAD_PATH_PREFIX = '/v1-uploads/datasets';
export const DEFAULT_UPLOAD_URL_TTL_MS = 60 * 60 * 1000;

/** Per process unless configured: a URL signed by one replica works on all only with a shared secret. */
const PROCESS_SECRET = randomBytes(32);

export interface UploadGrant {
  accountId: string;
  datasetId: string;
  fileName: string;
  /** Declared size in bytes; the PUT body must be exactly this long. */
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
    const canonical = JSON.stringify(['dataset-upload-v1', g.accountId, g.datasetId, g.fileName, g.size, g.expires]);
    return createHmac('sha256', this.secret).update(canonical).digest();
  }

  /** The path and query of the signed URL (prefix it with the public base URL). */
  pathFor(g: UploadGrant): string {
    const q = new URLSearchParams({ size: String(g.size), expires: String(g.expires), signature: this.mac(g).toString('base64url') });
    return `${UPLOAD_PATH_PREFIX}/${encodeURIComponent(g.accountId)}/${encodeURIComponent(g.datasetId)}/${encodeURIComponent(g.fileName)}?${q.toString()}`;
  }

  /** The grant a signed request carries, or why it is not valid. */
  verify(parts: { accountId: string; datasetId: string; fileName: string; size?: string; expires?: string; signature?: string }, now: number): UploadGrant | { error: string } {
    const size = Number(parts.size);
    const expires = Number(parts.expires);
    if (!Number.isSafeInteger(size) || size < 0 || !Number.isSafeInteger(expires) || !parts.signature) return { error: 'the upload URL is incomplete (size, expires and signature are required)' };
    const grant: UploadGrant = { accountId: parts.accountId, datasetId: parts.datasetId, fileName: parts.fileName, size, expires };
    const given = Buffer.from(parts.signature, 'base64url');
    const want = this.mac(grant);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return { error: 'the upload URL signature is not valid' };
    if (now > expires) return { error: 'the upload URL has expired; ask :getUploadEndpoint for a new one' };
    return grant;
  }
}
