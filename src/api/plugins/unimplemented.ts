// 501 UNIMPLEMENTED for the published operations Hearth does not serve, in the collections it
// does serve: a client of `deployments` that calls `GET …/deployments/{id}/ledger` learns that the
// method exists and Hearth lacks it, not a generic "no such method" 404. Collections Hearth does
// not serve at all (evaluators, secrets, …) keep the 404 of an unknown route. One registration
// driven by the spec table, after every route file; the routes are hidden from /openapi.json
// (the document says what Hearth serves). Registered inside `/v1`, so authentication and the
// tenancy rule apply before the 501.
import type { FastifyInstance } from 'fastify';
import { ApiError, ERROR_DOMAIN } from '../wire/errors.js';
import { collectionOf, fastifyPath, PUBLISHED_OPERATIONS, shapeOf, type PublishedOperation } from './published-spec.js';

export interface UnimplementedOptions {
  /** `METHOD shape` (see shapeOf) of every route registered so far. */
  served: ReadonlySet<string>;
  /** The prefix of the context this plugin is registered in (`/v1`); not `prefix`, which fastify would add again. */
  mountedAt: string;
}

/** The published operations of served collections that no route serves. */
export function unimplementedOperations(served: ReadonlySet<string>): PublishedOperation[] {
  const collections = new Set([...served].map((k) => collectionOf(k.slice(k.indexOf(' ') + 1))));
  return PUBLISHED_OPERATIONS.filter((op) => collections.has(op.collection) && !served.has(`${op.method} ${shapeOf(op.path)}`));
}

export function unimplementedError(op: PublishedOperation): ApiError {
  return new ApiError('UNIMPLEMENTED', `${op.operationId.replace(/^Gateway_/, '')} (${op.method} ${op.path}) is not implemented by Hearth`, [
    { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ERR_UNIMPLEMENTED', domain: ERROR_DOMAIN, metadata: { operationId: op.operationId } },
  ]);
}

export default async function unimplementedRoutes(app: FastifyInstance, opts: UnimplementedOptions): Promise<void> {
  for (const op of unimplementedOperations(opts.served)) {
    app.route({
      method: op.method,
      url: fastifyPath(op.path).slice(opts.mountedAt.length),
      schema: { hide: true } as Record<string, unknown>,
      handler: async () => {
        throw unimplementedError(op);
      },
    });
  }
}
