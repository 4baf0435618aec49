// Kubernetes API failures → google.rpc.Status errors, classified by status code (never by message
// text). Admission/CEL rejections (422) become INVALID_ARGUMENT naming the wire field.
import { aborted, alreadyExists, invalidArguments, notFound, unavailable, type ApiError, type FieldViolation } from '../wire/errors.js';

/** HTTP status of a client-node ApiException (or anything carrying `code`/`statusCode`). */
export function statusCodeOf(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const { code, statusCode } = e as { code?: unknown; statusCode?: unknown };
  if (typeof code === 'number') return code;
  if (typeof statusCode === 'number') return statusCode;
  return undefined;
}

interface KubeStatusBody {
  message?: string;
  details?: { causes?: { field?: string; message?: string; reason?: string }[] };
}

function statusBody(e: unknown): KubeStatusBody {
  const body = (e as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as KubeStatusBody;
    } catch {
      return { message: body };
    }
  }
  return (body as KubeStatusBody | undefined) ?? {};
}

/** `spec.autoscalingPolicy.scaleToZeroWindow` → `autoscalingPolicy.scaleToZeroWindow`. */
function wireField(field: string | undefined): string {
  if (!field) return '(body)';
  return field.replace(/^spec\./, '').replace(/^metadata\.name$/, 'deploymentId');
}

export interface KubeErrorContext {
  resourceType: string;
  /** Full wire name, for NOT_FOUND / ALREADY_EXISTS. */
  name: string;
  /** What was being done: `create`, `update`, `get`, `delete`. */
  op: 'create' | 'update' | 'get' | 'delete';
}

/** An ApiError for a Kubernetes API failure; anything unexpected is returned as it is (→ 500). */
export function fromKubeError(e: unknown, ctx: KubeErrorContext): ApiError | unknown {
  const code = statusCodeOf(e);
  switch (code) {
    case 404:
      return notFound(ctx.resourceType, ctx.name);
    case 409:
      return ctx.op === 'create' ? alreadyExists(ctx.resourceType, ctx.name) : aborted(`${ctx.resourceType} "${ctx.name}" was changed concurrently; retry`);
    case 400:
    case 422: {
      const body = statusBody(e);
      const causes = body.details?.causes ?? [];
      const violations: FieldViolation[] = causes.map((c) => ({ field: wireField(c.field), description: c.message ?? 'is invalid', reason: c.reason ?? 'INVALID' }));
      return invalidArguments(violations.length > 0 ? violations : [{ field: '(body)', description: body.message ?? 'rejected by the API server', reason: 'INVALID' }]);
    }
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return unavailable('the cluster is busy; retry shortly');
    default:
      return e;
  }
}
