// Every failure leaves as google.rpc.Status `{code, message, details}` with the HTTP status of the
// gRPC code (src/api/wire/errors.ts). Bad input is never a 500: malformed JSON, oversize bodies,
// wrong content types and schema violations are INVALID_ARGUMENT; unknown routes NOT_FOUND.
// 5xx bodies say only "internal error"; the full error goes to the log with the request id.
// Every 429 and 503 carries Retry-After (the RetryInfo's delay, or DEFAULT_RETRY_AFTER_SECONDS).
// An unreachable API server or database (src/api/wire/outage-errors.ts) is 503 UNAVAILABLE.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import { fromDomainError } from '../wire/domain-errors.js';
import { fromOutageError } from '../wire/outage-errors.js';
import { ApiError, ERROR_DOMAIN, invalidArgument, isApiError, toStatusBody, type RetryInfoDetail } from '../wire/errors.js';

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
    return sendError(reply, noSuchMethod(request.method, path));
  });
}

/** An unknown route: NOT_FOUND whose ErrorInfo says it is the method, not a resource, that is missing. */
export function noSuchMethod(method: string, path: string): ApiError {
  return new ApiError('NOT_FOUND', `no such method: ${method} ${path.slice(0, 200)}`, [
    { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ERR_NO_SUCH_METHOD', domain: ERROR_DOMAIN, metadata: { method: method.slice(0, 16) } },
  ]);
}

/**
 * The router's own refusals, which never reach the error handler: a path that does not decode
 * (a bad percent-escape, not UTF-8) and a path parameter longer than maxParamLength. Fastify's
 * defaults answer them with its own body (and 414); here they are INVALID_ARGUMENT like any bad input.
 */
export const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (error, _request, reply) => {
  const err =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? invalidArgument('(path)', 'a path segment is longer than the 500 characters any id may have', 'PATH_SEGMENT_TOO_LONG')
      : error.code === 'FST_ERR_BAD_URL'
        ? invalidArgument('(path)', 'is not a valid URL: a percent-escape is malformed or does not decode to UTF-8', 'BAD_URL')
        : invalidArgument('(request)', error.message.slice(0, 300), error.code ?? 'INVALID');
  void sendError(reply, err);
};

/**
 * What node's HTTP parser refuses before there is a request (fastify's clientErrorHandler): a
 * request line and headers beyond the 16 KiB limit, a malformed request, a request that arrived too
 * slowly. Written on the socket as google.rpc.Status, not fastify's default body: 400
 * INVALID_ARGUMENT naming what was wrong, or 408 for the timeout (DEADLINE_EXCEEDED).
 */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let body: object;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    body = new ApiError('DEADLINE_EXCEEDED', 'the request did not arrive within the server\'s request timeout', [
      { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ERR_REQUEST_TIMEOUT', domain: ERROR_DOMAIN },
    ]).toJSON();
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    body = invalidArgument('(headers)', 'the request line and headers are larger than 16 KiB (a URL or query string that long is refused)', 'HEADERS_TOO_LARGE').toJSON();
  } else {
    body = invalidArgument('(request)', 'is not a well-formed HTTP/1.1 request', 'MALFORMED_REQUEST').toJSON();
  }
  this.log.debug({ err }, 'client error');
  if (socket.writable) {
    const text = JSON.stringify(body);
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${text}`);
  }
  socket.destroy(err);
}

export default fp(errors, { name: 'hearth-errors', fastify: '5.x' });
