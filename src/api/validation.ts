// Request validation with the zod schemas of the routes, reported as google.rpc.BadRequest field
// violations (`field: rule`), and the compilers fastify uses.
//
// Bodies are validated but handed to handlers exactly as the client sent them: zod would fill in
// defaults, and a PATCH derives its field mask from the keys the client actually wrote. Handlers
// that need defaults parse the final object with the CRD schema (src/crds), the one source of the
// rules. Query strings and path parameters are handed over parsed (coerced booleans and numbers).
import type { FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify';
import type { z } from 'zod';
import { invalidArguments, type ApiError, type FieldViolation } from './wire/errors.js';

type Issue = z.core.$ZodIssue;

/** A key that would vanish or blur in a dotted path (empty, whitespace, control characters) is written as a JSON string. */
const keyOf = (k: string): string => (k === '' || /\s/.test(k) || [...k].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f') ? JSON.stringify(k) : k);

function joinPath(prefix: string, path: readonly PropertyKey[]): string {
  const segs = path.map((p) => (typeof p === 'number' ? `[${p}]` : keyOf(String(p))));
  const body = segs.reduce((acc, s) => (s.startsWith('[') || acc === '' ? `${acc}${s}` : `${acc}.${s}`), '');
  if (prefix === '') return body;
  if (body === '') return prefix;
  return body.startsWith('[') ? `${prefix}${body}` : `${prefix}.${body}`;
}

/** A short machine-readable rule id for a zod issue. */
function reasonOf(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'REQUIRED' : 'TYPE';
    case 'too_small':
      return 'MIN';
    case 'too_big':
      return 'MAX';
    case 'invalid_format':
      return 'FORMAT';
    case 'invalid_value':
      return 'ENUM';
    case 'unrecognized_keys':
      return 'UNKNOWN_FIELD';
    default:
      return 'INVALID';
  }
}

function describeIssue(issue: Issue): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'is required';
  if (issue.code === 'invalid_value' && issue.values.length > 0 && issue.values.length <= 60) {
    return `must be one of ${issue.values.map((v) => String(v)).join(', ')}`;
  }
  return issue.message;
}

/** Field violations for zod issues; `prefix` is prepended to every path (e.g. `deploymentId`). */
export function violationsOf(issues: readonly Issue[], prefix = ''): FieldViolation[] {
  const out: FieldViolation[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ field: joinPath(prefix, [...issue.path, key]), description: 'unknown field', reason: 'UNKNOWN_FIELD' });
      continue;
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // The branch that got furthest says most; report its issues.
      const best = [...issue.errors].sort((a, b) => b.length - a.length)[0]!;
      out.push(...violationsOf(best.map((i) => ({ ...i, path: [...issue.path, ...i.path] })) as Issue[], prefix));
      continue;
    }
    out.push({ field: joinPath(prefix, issue.path) || prefix || '(body)', description: describeIssue(issue), reason: reasonOf(issue) });
  }
  return out;
}

/** INVALID_ARGUMENT for zod issues (at least one). */
export function zodError(issues: readonly Issue[], prefix = ''): ApiError {
  const v = violationsOf(issues, prefix);
  return invalidArguments(v.length > 0 ? v : [{ field: prefix || '(body)', description: 'is invalid', reason: 'INVALID' }]);
}

/** Parses `value` with `schema` or throws INVALID_ARGUMENT naming every offending field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw zodError(r.error.issues, prefix);
  return r.data;
}

/**
 * fastify validator compiler for zod schemas. Bodies: validated, passed on as sent. Other parts:
 * the parsed value. Errors are ApiErrors (the error handler sends them as they are).
 */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  return (data: unknown) => {
    const r = schema.safeParse(data);
    if (!r.success) return { error: zodError(r.error.issues) };
    return { value: httpPart === 'body' ? data : r.data };
  };
};

/**
 * Responses are built by the mappers (proto3 JSON already) and serialised as they are; response
 * schemas only document the API (OpenAPI). Re-validating every response would turn a mapper slip
 * into a 500 for the client, and costs time on every call.
 */
export const serializerCompiler: FastifySerializerCompiler<unknown> = () => (data: unknown) => JSON.stringify(data);
