// Errors of the inference edge, in the OpenAI error shape that OpenAI-compatible clients parse:
// `{"error": {"object": "error", "type", "code", "message"}}`, status codes as the inference error
// table of the product docs.
import type { ServerResponse } from 'node:http';

export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

/**
 * One answer for a model that does not exist, is another account's and not public, or is not
 * deployed: the client cannot tell them apart, so existence never leaks across accounts.
 */
export const modelNotFound = (): GatewayError =>
  new GatewayError(404, 'invalid_request_error', 'model_not_found', 'Model not found, inaccessible, and/or not deployed');

export const badRequest = (message: string): GatewayError => new GatewayError(400, 'invalid_request_error', 'bad_request', message);
export const unauthenticated = (message: string): GatewayError => new GatewayError(401, 'authentication_error', 'unauthenticated', message);
export const forbidden = (message: string): GatewayError => new GatewayError(403, 'permission_error', 'permission_denied', message);
export const notFoundPath = (): GatewayError => new GatewayError(404, 'invalid_request_error', 'not_found', 'Not Found');
export const methodNotAllowed = (): GatewayError => new GatewayError(405, 'invalid_request_error', 'method_not_allowed', 'Method Not Allowed');
export const payloadTooLarge = (limit: number): GatewayError =>
  new GatewayError(413, 'invalid_request_error', 'payload_too_large', `request body larger than ${limit} bytes`);

/** Too many failed authentications from this client, or too many lookups at once (src/auth). */
export const authThrottled = (retryAfterSeconds: number): GatewayError =>
  new GatewayError(429, 'rate_limit_error', 'too_many_failed_authentications', 'too many requests with unknown or wrong API keys; retry later', retryAfterSeconds);

/** Too many requests already wait for this deployment to scale up. */
export const holdQueueFull = (retryAfterSeconds: number): GatewayError =>
  new GatewayError(429, 'rate_limit_error', 'too_many_waiting', 'the deployment is scaling up and too many requests are already waiting for it; retry later', retryAfterSeconds);

/** No replica became ready within the hold time. */
export const modelNotReady = (retryAfterSeconds: number): GatewayError =>
  new GatewayError(503, 'service_unavailable', 'model_not_ready', 'the deployment has no ready replica yet (scaling up from zero); retry later', retryAfterSeconds);

export const notSynced = (): GatewayError =>
  new GatewayError(503, 'service_unavailable', 'starting', 'the gateway is starting (model catalog not loaded yet); retry', 1);

export const shuttingDown = (): GatewayError => new GatewayError(503, 'service_unavailable', 'shutting_down', 'the gateway is shutting down; retry', 1);

export function sendError(res: ServerResponse, e: GatewayError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify({ error: { object: 'error', type: e.type, code: e.code, message: e.message } });
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
  if (e.retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(e.retryAfterSeconds)));
  // An unread request body (413) would have to be drained to keep the connection: close it.
  if (e.status === 413) headers.connection = 'close';
  res.writeHead(e.status, headers);
  res.end(text);
}
