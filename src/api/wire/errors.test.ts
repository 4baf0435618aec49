import { describe, expect, it } from 'vitest';
import {
  ApiError,
  GRPC_CODES,
  alreadyExists,
  grpcCodeForHttpStatus,
  grpcCodeName,
  httpStatusOf,
  internal,
  invalidArgument,
  notFound,
  quotaExceeded,
  rateLimited,
  toStatusBody,
  unauthenticated,
  type GrpcCodeName,
} from './errors.js';

describe('gRPC code ↔ HTTP status', () => {
  it.each<[GrpcCodeName, number]>([
    ['OK', 200],
    ['CANCELLED', 499],
    ['UNKNOWN', 500],
    ['INVALID_ARGUMENT', 400],
    ['DEADLINE_EXCEEDED', 504],
    ['NOT_FOUND', 404],
    ['ALREADY_EXISTS', 409],
    ['PERMISSION_DENIED', 403],
    ['UNAUTHENTICATED', 401],
    ['RESOURCE_EXHAUSTED', 429],
    ['FAILED_PRECONDITION', 400],
    ['ABORTED', 409],
    ['OUT_OF_RANGE', 400],
    ['UNIMPLEMENTED', 501],
    ['INTERNAL', 500],
    ['UNAVAILABLE', 503],
    ['DATA_LOSS', 500],
  ])('%s → %i', (code, status) => {
    expect(httpStatusOf(code)).toBe(status);
  });

  it('numbers follow google.rpc.Code', () => {
    expect(GRPC_CODES.NOT_FOUND).toBe(5);
    expect(GRPC_CODES.UNAUTHENTICATED).toBe(16);
    expect(grpcCodeName(8)).toBe('RESOURCE_EXHAUSTED');
    expect(grpcCodeName(99)).toBeUndefined();
  });

  it('maps HTTP statuses back', () => {
    expect(grpcCodeForHttpStatus(404)).toBe('NOT_FOUND');
    expect(grpcCodeForHttpStatus(422)).toBe('INVALID_ARGUMENT');
    expect(grpcCodeForHttpStatus(429)).toBe('RESOURCE_EXHAUSTED');
    expect(grpcCodeForHttpStatus(502)).toBe('INTERNAL');
  });
});

describe('constructors', () => {
  it('invalidArgument names the field and the rule', () => {
    const e = invalidArgument('autoscalingPolicy.scaleToZeroWindow', 'must be at least 300s', 'MIN');
    expect(e).toBeInstanceOf(ApiError);
    expect(e.httpStatus).toBe(400);
    expect(e.toJSON()).toEqual({
      code: 3,
      message: 'autoscalingPolicy.scaleToZeroWindow: must be at least 300s',
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.BadRequest',
          fieldViolations: [{ field: 'autoscalingPolicy.scaleToZeroWindow', description: 'must be at least 300s', reason: 'MIN' }],
        },
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ERR_INVALID_ARGUMENT', domain: 'hearth.dev', metadata: { field: 'autoscalingPolicy.scaleToZeroWindow' } },
      ],
    });
  });

  it('notFound and alreadyExists carry the resource', () => {
    expect(notFound('deployment', 'accounts/a/deployments/d').toJSON()).toMatchObject({ code: 5, message: 'deployment "accounts/a/deployments/d" not found' });
    expect(alreadyExists('model', 'accounts/a/models/m').httpStatus).toBe(409);
  });

  it('quotaExceeded is a 429 naming the quota', () => {
    const e = quotaExceeded({ quota: 'accounts/a/quotas/h100-us-virginia-2', requested: 4, usage: 6, limit: 8 });
    expect(e.httpStatus).toBe(429);
    expect(e.message).toContain('h100-us-virginia-2');
    expect(e.message).toContain('2 of 8 available');
    expect(e.reason).toBe('ERR_QUOTA_EXCEEDED');
  });

  it('rateLimited carries a RetryInfo in whole seconds', () => {
    expect(rateLimited(1200).details[0]).toEqual({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2s' });
  });
});

describe('toStatusBody', () => {
  it('passes 4xx through', () => {
    expect(toStatusBody(unauthenticated())).toEqual({ httpStatus: 401, body: unauthenticated().toJSON() });
  });

  it('hides internals of 5xx and of foreign errors', () => {
    const leaked = toStatusBody(new Error('connect ECONNREFUSED 10.0.0.5:5432'));
    expect(leaked.httpStatus).toBe(500);
    expect(JSON.stringify(leaked.body)).not.toContain('ECONNREFUSED');
    expect(toStatusBody(new ApiError('INTERNAL', 'select * from api_keys failed')).body.message).toBe('internal error');
    expect(toStatusBody(internal(new Error('x'))).body.code).toBe(13);
  });
});
