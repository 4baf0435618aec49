// Domain errors thrown by repositories. They say what happened in the data's terms; the HTTP layer
// (src/api/wire/domain-errors.ts) turns them into google.rpc.Status bodies. Controllers and the
// gateway can use them without importing the API.

export class DbError extends Error {}

/** `kind` is the resource type in wire terms (`account`, `user`, `apiKey`, `quota`, `model`, …). */
export class NotFoundError extends DbError {
  override readonly name = 'NotFoundError';
  constructor(
    readonly kind: string,
    readonly resourceName: string,
  ) {
    super(`${kind} "${resourceName}" not found`);
  }
}

export class AlreadyExistsError extends DbError {
  override readonly name = 'AlreadyExistsError';
  constructor(
    readonly kind: string,
    readonly resourceName: string,
  ) {
    super(`${kind} "${resourceName}" already exists`);
  }
}

/** A value breaks a rule the data enforces (e.g. a quota value above its maxValue). */
export class InvalidValueError extends DbError {
  override readonly name = 'InvalidValueError';
  constructor(
    readonly field: string,
    readonly rule: string,
  ) {
    super(`${field}: ${rule}`);
  }
}

/** The operation would break a rule about the data as it is now (e.g. demoting the last admin). */
export class FailedPreconditionError extends DbError {
  override readonly name = 'FailedPreconditionError';
  constructor(
    message: string,
    /** Stable machine-readable reason, ERR_UPPER_SNAKE. */
    readonly reason: string,
  ) {
    super(message);
  }
}

/** Reserving `requested` more of a quota would take usage above its value. */
export class QuotaExceededError extends DbError {
  override readonly name = 'QuotaExceededError';
  constructor(
    /** Full name, `accounts/{a}/quotas/{q}`. */
    readonly quota: string,
    readonly requested: number,
    readonly usage: number,
    readonly limit: number,
  ) {
    super(`quota "${quota}" exceeded: requested ${requested}, usage ${usage} of ${limit}`);
  }
}

/** PostgreSQL unique_violation. */
export function isUniqueViolation(e: unknown): boolean {
  return pgCode(e) === '23505';
}

/** PostgreSQL foreign_key_violation. */
export function isForeignKeyViolation(e: unknown): boolean {
  return pgCode(e) === '23503';
}

/** SQLSTATE of a driver error (pg and PGlite both expose `code`; drizzle may wrap it in `cause`). */
export function pgCode(e: unknown): string | undefined {
  for (let cur: unknown = e, i = 0; cur && i < 5; cur = (cur as { cause?: unknown }).cause, i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}
