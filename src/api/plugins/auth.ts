// Authentication for `/v1/*`: `Authorization: Bearer <key>` through the API key authenticator,
// then the per-user rate limit (a user cannot multiply it by minting keys), then the tenancy rule: a path under another account's
// `/v1/accounts/{a}` answers exactly what a missing object would (404), never 403, never data.
// Runs as an onRequest hook, before the body is read: an unauthenticated caller learns nothing
// about what its body would have done.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ApiKeyAuthenticator, Principal } from '../../auth/authenticator.js';
import { authFailureError } from '../authorize.js';
import { bearerToken } from '../../auth/key-format.js';
import type { KeyRateLimiter } from '../../auth/rate-limit.js';
import { rateLimited } from '../wire/errors.js';
import { resourceNotFound } from '../collections/names.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller; set for every `/v1` route (the auth hook rejects requests without one). */
    principal: Principal;
  }
}

export interface AuthPluginOptions {
  authenticator: ApiKeyAuthenticator;
  rateLimiter?: KeyRateLimiter;
}

/**
 * The 404 a caller gets for a path of an account that is not theirs: the same error a missing
 * object at that path gives (`accounts/{a}/<collection>/{id}`), or a missing account.
 */
export function foreignPathError(url: string): Error {
  const path = (url.split('?')[0] ?? '').replace(/^\/v1\//, '');
  const segs = path.split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  const accountId = segs[1] ?? '';
  const collection = segs[2];
  const id = segs[3]?.split(':')[0];
  if (collection && id) return resourceNotFound(accountId, collection, id);
  return resourceNotFound(accountId, 'accounts');
}

/** The caller of a request, or the error it gets: 401/403, or 429 when throttled. */
async function authenticate(request: FastifyRequest, opts: AuthPluginOptions): Promise<Principal> {
  const header = request.headers.authorization;
  const token = bearerToken(header) ?? (header ? 'malformed' : undefined);
  const result = await opts.authenticator.authenticate(token, request.ip);
  if (result.ok) return result.principal;
  request.log.info({ reason: result.reason, keyId: result.keyId }, 'authentication failed');
  if (result.reason === 'THROTTLED') throw rateLimited(result.retryAfterMs ?? 1000);
  throw authFailureError(result.reason);
}

async function auth(app: FastifyInstance, opts: AuthPluginOptions): Promise<void> {
  app.decorateRequest('principal', undefined as unknown as Principal);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const principal = await authenticate(request, opts);
    if (opts.rateLimiter) {
      const decision = opts.rateLimiter.take(`${principal.accountId}/${principal.userId}`);
      if (!decision.allowed) throw rateLimited(decision.retryAfterMs);
    }
    request.principal = principal;
    const accountId = (request.params as Record<string, string | undefined> | undefined)?.accountId;
    if (accountId !== undefined && accountId !== principal.accountId) throw foreignPathError(request.url);
  });
}

export default fp(auth, { name: 'hearth-auth', fastify: '5.x' });
