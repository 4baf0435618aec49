// Direct route API keys (a Deployment's `directRouteApiKeys`) are stored as SHA-256 digests,
// `sha256:<64 hex>`, never in plain text in the custom resource (issue 15 item 8): anyone who can
// read the object (kubectl, backups, audit logs of the API server) learns only digests. The REST
// facade digests what a client sends and answers with the digests; a direct route checks a
// presented key with `directRouteKeyMatches`. Keys are high-entropy secrets, so an unsalted fast
// hash is the usual choice (as for API keys' lookups): a digest cannot be reversed by guessing.
import { createHash, timingSafeEqual } from 'node:crypto';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export const isDirectRouteKeyDigest = (v: string): boolean => DIGEST.test(v);

/** The stored form of a key: its digest (a value that already is a digest is kept, so a read-modify-write round trip is stable). */
export function directRouteKeyDigest(key: string): string {
  return isDirectRouteKeyDigest(key) ? key : `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** Whether `presented` is one of the stored digests (constant time per comparison). */
export function directRouteKeyMatches(presented: string, stored: readonly string[]): boolean {
  const want = Buffer.from(directRouteKeyDigest(presented));
  let hit = false;
  for (const s of stored) {
    const have = Buffer.from(directRouteKeyDigest(s));
    if (have.length === want.length && timingSafeEqual(have, want)) hit = true;
  }
  return hit;
}
