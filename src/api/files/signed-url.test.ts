import { describe, expect, it } from 'vitest';
import { FileUrlSigner, signedFileUrl, type FileGrant } from './signed-url.js';

const NOW = 1_800_000_000_000;
const grant: FileGrant = { op: 'upload', collection: 'models', accountId: 'acme', resourceId: 'lora-1', fileName: 'adapter_config.json', size: 612, expires: NOW + 60_000 };

/** The parts of a signed path as the route sees them (params decoded, query). */
function partsOf(path: string): { collection: string; accountId: string; resourceId: string; fileName: string; size?: string; expires?: string; signature?: string } {
  const u = new URL(path, 'http://x');
  const [, , collection, accountId, resourceId, fileName] = u.pathname.split('/').map(decodeURIComponent);
  return { collection: collection!, accountId: accountId!, resourceId: resourceId!, fileName: fileName!, size: u.searchParams.get('size') ?? undefined, expires: u.searchParams.get('expires') ?? undefined, signature: u.searchParams.get('signature') ?? undefined };
}

describe('FileUrlSigner', () => {
  const signer = new FileUrlSigner('s'.repeat(32));

  it('signs a path per collection that verifies back to the same grant', () => {
    const path = signer.pathFor(grant);
    expect(path).toMatch(/^\/v1-files\/models\/acme\/lora-1\/adapter_config\.json\?size=612&expires=\d+&signature=[\w-]+$/);
    const p = partsOf(path);
    expect(signer.verify({ op: 'upload', ...p, collection: 'models' }, NOW)).toEqual(grant);
  });

  it('encodes file names with "/" and special characters into one path segment', () => {
    const g = { ...grant, fileName: 'original/params é?.json' };
    const p = partsOf(signer.pathFor(g));
    expect(p.fileName).toBe('original/params é?.json');
    expect(signer.verify({ op: 'upload', ...p, collection: 'models' }, NOW)).toEqual(g);
  });

  it('refuses a URL used for another operation, collection, account, resource, file or size, another secret, or after it expired', () => {
    const p = partsOf(signer.pathFor(grant));
    const base = { op: 'upload' as const, ...p, collection: 'models' as const };
    expect(signer.verify({ ...base, op: 'download' }, NOW)).toEqual({ error: 'the URL signature is not valid' });
    expect(signer.verify({ ...base, collection: 'datasets' }, NOW)).toEqual({ error: 'the URL signature is not valid' });
    expect(signer.verify({ ...base, accountId: 'other' }, NOW)).toEqual({ error: 'the URL signature is not valid' });
    expect(signer.verify({ ...base, resourceId: 'lora-2' }, NOW)).toEqual({ error: 'the URL signature is not valid' });
    expect(signer.verify({ ...base, fileName: 'adapter_model.safetensors' }, NOW)).toEqual({ error: 'the URL signature is not valid' });
    expect(signer.verify({ ...base, size: '613' }, NOW)).toEqual({ error: 'the URL signature is not valid' });
    expect(new FileUrlSigner('t'.repeat(32)).verify(base, NOW)).toEqual({ error: 'the URL signature is not valid' });
    expect(signer.verify(base, NOW + 60_001)).toEqual({ error: expect.stringMatching(/expired; ask :getUploadEndpoint/) });
    expect(signer.verify({ ...base, signature: undefined }, NOW)).toEqual({ error: expect.stringMatching(/incomplete/) });
  });

  it('builds the full URL on the configured base, with the TTL', () => {
    const url = signedFileUrl(signer, 'https://hearth.example.com/', { ...grant, op: 'download' }, { now: NOW, ttlMs: 5_000 });
    expect(url).toMatch(/^https:\/\/hearth\.example\.com\/v1-files\/models\/acme\/lora-1\/adapter_config\.json\?size=612&expires=1800000005000&/);
  });
});
