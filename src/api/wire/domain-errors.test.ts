import { describe, expect, it } from 'vitest';
import { AlreadyExistsError, InvalidValueError, NotFoundError, QuotaExceededError } from '../../db/errors.js';
import { fromDomainError } from './domain-errors.js';
import type { ApiError} from './errors.js';
import { toStatusBody } from './errors.js';

describe('fromDomainError', () => {
  it('maps each repository error to its status', () => {
    const status = (e: unknown) => toStatusBody(fromDomainError(e)).httpStatus;
    expect(status(new NotFoundError('model', 'accounts/a/models/m'))).toBe(404);
    expect(status(new AlreadyExistsError('model', 'accounts/a/models/m'))).toBe(409);
    expect(status(new InvalidValueError('value', 'must be at most maxValue (8)'))).toBe(400);
    expect(status(new QuotaExceededError('accounts/a/quotas/h100-us-virginia-2', 4, 6, 8))).toBe(429);
    expect(status(new Error('boom'))).toBe(500);
  });

  it('keeps the field and the quota name', () => {
    const e = fromDomainError(new InvalidValueError('value', 'must be at most maxValue (8)')) as ApiError;
    expect(e.message).toBe('value: must be at most maxValue (8)');
    const q = fromDomainError(new QuotaExceededError('accounts/a/quotas/h100-us-virginia-2', 4, 6, 8)) as ApiError;
    expect(q.code).toBe('RESOURCE_EXHAUSTED');
    expect(q.message).toContain('accounts/a/quotas/h100-us-virginia-2');
  });
});
