// Repository (domain) errors → google.rpc.Status errors. The HTTP error handler calls this first,
// then `toStatusBody`.
import { AlreadyExistsError, FailedPreconditionError, InvalidValueError, NotFoundError, QuotaExceededError } from '../../db/errors.js';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, quotaExceeded, type ApiError } from './errors.js';

/** The ApiError for a known domain error; anything else is returned unchanged. */
export function fromDomainError(e: unknown): ApiError | unknown {
  if (e instanceof NotFoundError) return notFound(e.kind, e.resourceName);
  if (e instanceof AlreadyExistsError) return alreadyExists(e.kind, e.resourceName);
  if (e instanceof InvalidValueError) return invalidArgument(e.field, e.rule);
  if (e instanceof FailedPreconditionError) return failedPrecondition(e.message, e.reason);
  if (e instanceof QuotaExceededError) return quotaExceeded({ quota: e.quota, requested: e.requested, usage: e.usage, limit: e.limit });
  return e;
}
