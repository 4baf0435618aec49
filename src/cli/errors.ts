// The CLI's two kinds of failure and their exit codes: bad usage (2, the command line is wrong:
// nothing was sent) and an API error (1, the server said no: its code and message, and the fields
// it named). Neither ever carries the API key.

/** Exit codes scripts can trust. */
export const EXIT = { ok: 0, api: 1, usage: 2, interrupted: 130 } as const;

/** The command line is wrong (a flag's value, a missing argument, an operation REST lacks). */
export class UsageError extends Error {
  readonly exitCode = EXIT.usage;
}

interface FieldViolation {
  field?: string;
  description?: string;
}

/** A google.rpc.Status answer (or no answer at all: a network error has code UNAVAILABLE). */
export class ApiCallError extends Error {
  readonly exitCode = EXIT.api;
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
    readonly details: readonly Record<string, unknown>[] = [],
  ) {
    super(message);
  }

  /** The BadRequest field violations, `field: rule`. */
  get violations(): string[] {
    const out: string[] = [];
    for (const d of this.details) {
      for (const v of (d.fieldViolations as FieldViolation[] | undefined) ?? []) out.push(`${v.field ?? '(request)'}: ${v.description ?? 'is invalid'}`);
    }
    return out;
  }
}

/** google.rpc.Code numbers → names (the error body carries the number). */
const CODE_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];

function codeName(httpStatus: number, code: unknown): string {
  if (typeof code === 'number') return CODE_NAMES[code] ?? String(code);
  return typeof code === 'string' ? code : `HTTP_${httpStatus}`;
}

/** An error body (whatever the server sent) → ApiCallError. */
export function apiErrorOf(httpStatus: number, body: unknown): ApiCallError {
  const b = (body && typeof body === 'object' ? body : {}) as { code?: unknown; message?: unknown; details?: unknown };
  let message = `HTTP ${httpStatus}`;
  if (typeof b.message === 'string' && b.message) message = b.message;
  else if (typeof body === 'string' && body) message = body.slice(0, 500);
  const details = Array.isArray(b.details) ? (b.details as Record<string, unknown>[]) : [];
  return new ApiCallError(httpStatus, codeName(httpStatus, b.code), message, details);
}

/** What stderr shows for a failure: one line, then one line per named field. */
export function describeError(e: unknown): { text: string; exitCode: number } {
  if (e instanceof UsageError) return { text: `error: ${e.message}`, exitCode: EXIT.usage };
  if (e instanceof ApiCallError) {
    const lines = [`error: ${e.code}: ${e.message}`, ...e.violations.filter((v) => !e.message.includes(v.slice(v.indexOf(': ') + 2))).map((v) => `  ${v}`)];
    return { text: lines.join('\n'), exitCode: EXIT.api };
  }
  return { text: `error: ${e instanceof Error ? e.message : String(e)}`, exitCode: EXIT.api };
}
