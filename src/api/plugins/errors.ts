// Every failure leaves as google.rpc.Status `{code, message, details}` with the HTTP status of the
// gRPC code (src/api/wire/errors.ts). Bad input is never a 500: malformed JSON, oversize bodies,
// wrong content types and schema violations are INVALID_ARGUMENT; unknown routes NOT_FOUND.
// 5xx bodies say only "internal error"; the full error goes to the log with the request id.
// Every 429 and 503 carries Retry-After (the RetryInfo's delay, or DEFAULT_RETRY_AFTER_SECONDS).
// An unreachable API server or database (src/api/wire/outage-errors.ts) is 503 UNAVAILABLE.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { fromDomainError } from '../wire/domain-errors.js';
import { fromOutageError } from '../wire/outage-errors.js';
import { ApiError, invalidArgument, isApiError, toStatusBody, type RetryInfoDetail } from '../wire/errors.js';

/** fastify's own request errors (body parsing, limits) → INVALID_ARGUMENT naming what was wrong. */
function fromFastifyError(e: FastifyError, bodyLimit: number): ApiError | undefined {
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return invalidArgument('(body)', `the request body is larger than ${bodyLimit} bytes`, 'BODY_TOO_LARGE');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return invalidArgument('(body)', 'the request body is empty; send a JSON object (e.g. {})', 'EMPTY_BODY');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return invalidArgument('Content-Type', 'must be application/json', 'MEDIA_TYPE');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return invalidArgument('Content-Length', 'does not match the body', 'CONTENT_LENGTH');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return invalidArgument('(body)', 'is not valid JSON', 'MALFORMED_JSON');
    default:
      break;
  }
  if (e instanceof SyntaxError || e.name === 'SyntaxError') return invalidArgument('(body)', `is not valid JSON: ${e.message.slice(0, 200)}`, 'MALFORMED_JSON');
  const status = e.statusCode ?? 500;
  if (status >= 400 && status < 500) return invalidArgument('(request)', e.message.slice(0, 300), e.code ?? 'INVALID');
  return undefined;
}

function retryAfterSeconds(e: ApiError): number | undefined {
  const info = e.details.find((d): d is RetryInfoDetail => d['@type'] === 'type.googleapis.com/google.rpc.RetryInfo');
  if (!info) return undefined;
  const s = Number.parseFloat(info.retryDelay);
  return Number.isFinite(s) ? Math.max(1, Math.ceil(s)) : undefined;
}

/** Retry-After of a 429 or 503 whose error names no delay: clients (generated SDKs) retry after it. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;

export function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const { httpStatus, body } = toStatusBody(err);
  const retry = isApiError(err) ? retryAfterSeconds(err) : undefined;
  if (retry !== undefined) void reply.header('retry-after', String(retry));
  else if (httpStatus === 429 || httpStatus === 503) void reply.header('retry-after', String(DEFAULT_RETRY_AFTER_SECONDS));
  return reply.code(httpStatus).type('application/json; charset=utf-8').send(body);
}

export interface ErrorPluginOptions {
  bodyLimit: number;
}

async function errors(app: FastifyInstance, opts: ErrorPluginOptions): Promise<void> {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    let err: unknown = fromDomainError(error);
    // A dependency that is down (API server, PostgreSQL) is a 503 with Retry-After, not a 500.
    if (!isApiError(err)) err = fromOutageError(error) ?? err;
    if (!isApiError(err) && error instanceof Error && 'code' in error) err = fromFastifyError(error as FastifyError, opts.bodyLimit) ?? err;
    const status = isApiError(err) ? err.httpStatus : 500;
    if (status === 503) request.log.warn({ err: error }, 'request failed: a dependency is unavailable');
    else if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: isApiError(err) ? err.code : undefined, message: isApiError(err) ? err.message : undefined }, 'request rejected');
    return sendError(reply, err);
  });

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '';
    return sendError(reply, new ApiError('NOT_FOUND', `no such method: ${request.method} ${path.slice(0, 200)}`));
  });
}

export default fp(errors, { name: 'hearth-errors', fastify: '5.x' });
