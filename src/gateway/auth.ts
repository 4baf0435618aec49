// The gateway authenticates the same API keys as the REST API, with the same core (shape and
// checksum in memory, row cached ≤ 1 s so a revocation takes effect within a second, constant-time
// hash compare). That core lives in src/auth/, below both edges, so neither imports the other.
import { ApiKeyAuthenticator, type AuthenticatorOptions } from '../auth/authenticator.js';
import type { Db } from '../db/client.js';
import type { Authenticate } from './server.js';

/** An Authenticate backed by the API-key tables in `db`. */
export function apiKeyAuthenticate(db: Db, opts?: AuthenticatorOptions): Authenticate {
  const core = new ApiKeyAuthenticator(db, opts);
  return async (token, client) => {
    const r = await core.authenticate(token, client);
    if (r.ok) return { ok: true, accountId: r.principal.accountId, keyId: r.principal.keyId };
    return { ok: false, reason: r.reason, ...(r.retryAfterMs !== undefined ? { retryAfterMs: r.retryAfterMs } : {}) };
  };
}
