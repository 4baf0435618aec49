// The error body of the `/v1/accounts/*` API: grpc-gateway's `google.rpc.Status`
// `{code, message, details}` with the gRPC code ↔ HTTP status mapping of the published spec.
// Domain code throws `ApiError`s built by the constructors below; only the HTTP layer reads
// `httpStatus`. Every error names what was wrong (field and rule, resource, quota) in its message
// and, machine-readably, in `details`.

export const GRPC_CODES = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcCodeName = keyof typeof GRPC_CODES;

const HTTP_STATUS: Record<GrpcCodeName, number> = {
  OK: 200,
  CANCELLED: 499,
  UNKNOWN: 500,
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  OUT_OF_RANGE: 400,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DATA_LOSS: 500,
  UNAUTHENTICATED: 401,
};

/** HTTP status for a gRPC code (grpc-gateway's table). */
export function httpStatusOf(code: GrpcCodeName): number {
  return HTTP_STATUS[code];
}

/** The gRPC code name for a numeric code (undefined if out of range). */
export function grpcCodeName(code: number): GrpcCodeName | undefined {
  return (Object.keys(GRPC_CODES) as GrpcCodeName[]).find((k) => GRPC_CODES[k] === code);
}

/** Best gRPC code for an HTTP status (for errors that arrive as HTTP, e.g. from Kubernetes). */
export function grpcCodeForHttpStatus(status: number): GrpcCodeName {
  switch (status) {
    case 400:
    case 422:
      return 'INVALID_ARGUMENT';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'NOT_FOUND';
    case 409:
      return 'ABORTED';
    case 429:
      return 'RESOURCE_EXHAUSTED';
    case 499:
      return 'CANCELLED';
    case 501:
      return 'UNIMPLEMENTED';
    case 503:
      return 'UNAVAILABLE';
    case 504:
      return 'DEADLINE_EXCEEDED';
    default:
      return status >= 200 && status < 300 ? 'OK' : status < 500 ? 'FAILED_PRECONDITION' : 'INTERNAL';
  }
}

// ---- details (google.rpc.* messages as proto3 JSON `Any`) ----

export const ERROR_DOMAIN = 'hearth.dev';

export interface FieldViolation {
  /** Path of the offending field in the request, e.g. `autoscalingPolicy.scaleToZeroWindow`. */
  field: string;
  /** The rule it broke, in words: `must be at least 300s`. */
  description: string;
  /** Short machine-readable rule id, e.g. `MIN`, `REQUIRED`, `FORMAT`. */
  reason?: string;
}

export interface BadRequestDetail {
  '@type': 'type.googleapis.com/google.rpc.BadRequest';
  fieldViolations: FieldViolation[];
}

export interface ErrorInfoDetail {
  '@type': 'type.googleapis.com/google.rpc.ErrorInfo';
  /** Stable UPPER_SNAKE reason, e.g. `ERR_QUOTA_EXCEEDED`. */
  reason: string;
  domain: string;
  metadata?: Record<string, string>;
}

export interface QuotaFailureDetail {
  '@type': 'type.googleapis.com/google.rpc.QuotaFailure';
  violations: { subject: string; description: string }[];
}

export interface ResourceInfoDetail {
  '@type': 'type.googleapis.com/google.rpc.ResourceInfo';
  resourceType: string;
  resourceName: string;
  description?: string;
}

export interface RetryInfoDetail {
  '@type': 'type.googleapis.com/google.rpc.RetryInfo';
  retryDelay: string;
}

export type ErrorDetail = BadRequestDetail | ErrorInfoDetail | QuotaFailureDetail | ResourceInfoDetail | RetryInfoDetail;

/** The wire body. */
export interface StatusBody {
  code: number;
  message: string;
  details: ErrorDetail[];
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: GrpcCodeName;
  readonly details: ErrorDetail[];

  constructor(code: GrpcCodeName, message: string, details: ErrorDetail[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  get httpStatus(): number {
    return httpStatusOf(this.code);
  }

  /** Stable reason from the ErrorInfo detail, if any. */
  get reason(): string | undefined {
    return this.details.find((d): d is ErrorInfoDetail => d['@type'] === 'type.googleapis.com/google.rpc.ErrorInfo')?.reason;
  }

  toJSON(): StatusBody {
    return { code: GRPC_CODES[this.code], message: this.message, details: this.details };
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

const errorInfo = (reason: string, metadata?: Record<string, string>): ErrorInfoDetail => ({
  '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
  reason,
  domain: ERROR_DOMAIN,
  ...(metadata && Object.keys(metadata).length > 0 ? { metadata } : {}),
});

const badRequest = (violations: FieldViolation[]): BadRequestDetail => ({
  '@type': 'type.googleapis.com/google.rpc.BadRequest',
  fieldViolations: violations,
});

// ---- constructors ----

/** A field broke a rule: `autoscalingPolicy.scaleToZeroWindow: must be at least 300s`. */
export function invalidArgument(field: string, rule: string, reason = 'INVALID'): ApiError {
  return new ApiError('INVALID_ARGUMENT', `${field}: ${rule}`, [
    badRequest([{ field, description: rule, reason }]),
    errorInfo('ERR_INVALID_ARGUMENT', { field }),
  ]);
}

/** Several field violations at once (e.g. everything a schema validation found). */
export function invalidArguments(violations: FieldViolation[]): ApiError {
  if (violations.length === 0) throw new Error('invalidArguments needs at least one violation');
  const message = violations.map((v) => `${v.field}: ${v.description}`).join('; ');
  return new ApiError('INVALID_ARGUMENT', message, [badRequest(violations), errorInfo('ERR_INVALID_ARGUMENT')]);
}

export function requiredField(field: string): ApiError {
  return invalidArgument(field, 'is required', 'REQUIRED');
}

/** `resourceType` in the wire's terms (`deployment`, `model`, …); `name` the full resource name. */
export function notFound(resourceType: string, name: string): ApiError {
  return new ApiError('NOT_FOUND', `${resourceType} "${name}" not found`, [
    { '@type': 'type.googleapis.com/google.rpc.ResourceInfo', resourceType, resourceName: name },
    errorInfo('ERR_NOT_FOUND'),
  ]);
}

/** A field of the request names an object the caller cannot see (missing, or another account's): 404 naming the field and the object. */
export function fieldNotFound(field: string, resourceType: string, name: string): ApiError {
  return new ApiError('NOT_FOUND', `${field}: ${resourceType} "${name}" not found`, [
    { '@type': 'type.googleapis.com/google.rpc.ResourceInfo', resourceType, resourceName: name },
    badRequest([{ field, description: `${resourceType} "${name}" not found`, reason: 'NOT_FOUND' }]),
  ]);
}

export function alreadyExists(resourceType: string, name: string): ApiError {
  return new ApiError('ALREADY_EXISTS', `${resourceType} "${name}" already exists`, [
    { '@type': 'type.googleapis.com/google.rpc.ResourceInfo', resourceType, resourceName: name },
    errorInfo('ERR_ALREADY_EXISTS'),
  ]);
}

/** The request is valid but the resource's state forbids it (undelete of a READY deployment). */
export function failedPrecondition(message: string, reason = 'ERR_FAILED_PRECONDITION'): ApiError {
  return new ApiError('FAILED_PRECONDITION', message, [errorInfo(reason)]);
}

/** Concurrent modification: retry with fresh state. */
export function aborted(message: string): ApiError {
  return new ApiError('ABORTED', message, [errorInfo('ERR_ABORTED')]);
}

/**
 * A quota would be exceeded: 429 naming the quota, what was asked and what is left.
 * `quota` is the full name (`accounts/a/quotas/h100-us-virginia-2`).
 */
export function quotaExceeded(args: { quota: string; requested: number; usage: number; limit: number }): ApiError {
  const { quota, requested, usage, limit } = args;
  const left = Math.max(0, limit - usage);
  const description = `requested ${requested}, ${left} of ${limit} available (usage ${usage})`;
  return new ApiError('RESOURCE_EXHAUSTED', `quota "${quota}" exceeded: ${description}`, [
    { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ subject: quota, description }] },
    errorInfo('ERR_QUOTA_EXCEEDED', { quota, requested: String(requested), usage: String(usage), limit: String(limit) }),
  ]);
}

/** Rate limiting: 429 with a RetryInfo the HTTP layer turns into `Retry-After`. */
export function rateLimited(retryAfterMs: number): ApiError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new ApiError('RESOURCE_EXHAUSTED', `rate limit exceeded; retry in ${seconds}s`, [
    { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${seconds}s` },
    errorInfo('ERR_RATE_LIMITED'),
  ]);
}

/** No, malformed, unknown, expired or revoked credentials. The message never says which. */
export function unauthenticated(message = 'missing or invalid API key'): ApiError {
  return new ApiError('UNAUTHENTICATED', message, [errorInfo('ERR_UNAUTHENTICATED')]);
}

/** Authenticated, but the role does not allow it (within the caller's own account only). */
export function permissionDenied(message: string): ApiError {
  return new ApiError('PERMISSION_DENIED', message, [errorInfo('ERR_PERMISSION_DENIED')]);
}

export function unimplemented(what: string): ApiError {
  return new ApiError('UNIMPLEMENTED', `${what} is not implemented`, [errorInfo('ERR_UNIMPLEMENTED')]);
}

export function unavailable(message: string): ApiError {
  return new ApiError('UNAVAILABLE', message, [errorInfo('ERR_UNAVAILABLE')]);
}

export function internal(cause?: unknown): ApiError {
  return new ApiError('INTERNAL', 'internal error', [errorInfo('ERR_INTERNAL')], { cause });
}

/**
 * The body and status to send for any thrown value. ApiErrors below 500 are sent as they are;
 * 5xx and anything else become a bare `internal error` so no internals (SQL, stack, hostnames)
 * reach the client. Log the original before calling this.
 */
export function toStatusBody(e: unknown): { httpStatus: number; body: StatusBody } {
  if (isApiError(e) && e.httpStatus < 500) return { httpStatus: e.httpStatus, body: e.toJSON() };
  if (isApiError(e) && e.code !== 'INTERNAL' && e.code !== 'UNKNOWN' && e.code !== 'DATA_LOSS') {
    // UNAVAILABLE, UNIMPLEMENTED, DEADLINE_EXCEEDED: their messages are written for clients.
    return { httpStatus: e.httpStatus, body: e.toJSON() };
  }
  const err = internal();
  return { httpStatus: err.httpStatus, body: err.toJSON() };
}
