// Empty request bodies, as generated SDKs send them: a DELETE or a custom verb with
// `Content-Type: application/json` and nothing after it, or no body at all. grpc-gateway reads an
// empty body as the empty message, so the platform's clients do too; Hearth answers no body, an
// empty body and `{}` alike:
//   - the JSON parser hands an empty body on as "no body" (fastify's own parser would answer
//     FST_ERR_CTP_EMPTY_JSON_BODY); anything else goes to fastify's parser, prototype-poisoning
//     checks included;
//   - before validation, a route that takes a body and got none gets `{}` — when the published
//     spec says its request message has no required field (src/api/plugins/published-spec.ts);
//     when it has some, the 400 names each of them, as the validation of `{}` would. Operations
//     the spec does not publish (Hearth's own) are decided by their own schema, through `{}`.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { invalidArguments } from '../wire/errors.js';
import { publishedOperation, requiredBodyFields } from './published-spec.js';

/** The body a route that takes one gets when the request had none; throws when the body is required. */
export function emptyBodyFor(method: string, routeUrl: string): Record<string, never> {
  const op = publishedOperation(method, routeUrl);
  const required = op ? requiredBodyFields(op) : [];
  if (required.length > 0) throw invalidArguments(required.map((field) => ({ field, description: 'is required', reason: 'REQUIRED' })));
  return {};
}

async function emptyBody(app: FastifyInstance): Promise<void> {
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') {
      done(null, undefined);
      return;
    }
    // fastify's default JSON parser answers through `done` (its type also allows a promise).
    void json(request, body as string, done);
  });

  app.addHook('preValidation', async (request: FastifyRequest) => {
    if (request.body !== undefined || !request.routeOptions.schema?.body) return;
    request.body = emptyBodyFor(request.method, request.routeOptions.url ?? '');
  });
}

export default fp(emptyBody, { name: 'hearth-empty-body', fastify: '5.x' });
