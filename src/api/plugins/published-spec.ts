// The operations of the published Fireworks spec (spec/fireworks-gateway-openapi.yml), as the app
// needs them at run time: which collection each belongs to, and which fields its request body
// requires. The spec is not shipped in the image, so the table is generated into
// `published-operations.generated.ts` (`npm run gen:api-spec`); a unit test keeps it in sync.
//
// Paths come in three spellings — the spec's `{account_id}`, fastify's `:accountId(^[^:]+)` with
// `::verb` for a literal colon, and Hearth's OpenAPI `{accountId}` — and `shapeOf` maps each to
// one key (`/v1/accounts/{}/deployments/{}:undelete`) so they can be compared. (A fastify
// parameter always starts a segment; a `:verb` never does.)
import { PUBLISHED_OPERATIONS } from './published-operations.generated.js';

export interface PublishedOperation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The spec's path, e.g. `/v1/accounts/{account_id}/deployments/{deployment_id}:undelete`. */
  path: string;
  operationId: string;
  /** The top-level collection: `deployments` for everything under `/v1/accounts/{a}/deployments`. */
  collection: string;
  /** The request body's required fields as the spec has them; `null`: the operation takes no body. */
  bodyRequired: readonly string[] | null;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** One key for the three spellings of a path: parameters become `{}`, `::` (fastify) becomes `:`. */
export function shapeOf(path: string): string {
  return path
    .split('::')
    .map((part) => part.replace(/\{[^}]+\}/g, '{}').replace(/(?<=\/):[A-Za-z_][A-Za-z0-9_]*(\([^)]*\))?/g, '{}'))
    .join(':');
}

/** `deployments` for `/v1/accounts/{a}/deployments/...`; `accounts` for the account itself; else the first segment under `/v1`. */
export function collectionOf(path: string): string {
  const segs = shapeOf(path).split('/').slice(2);
  const bare = (s: string | undefined) => (s ?? '').split(':')[0] ?? '';
  if (bare(segs[0]) === 'accounts') return segs.length <= 2 ? 'accounts' : bare(segs[2]);
  return bare(segs[0]);
}

type SpecDoc = { paths: Record<string, Record<string, { operationId?: string; requestBody?: { content?: Record<string, { schema?: Record<string, unknown> }> } }>>; components?: { schemas?: Record<string, Record<string, unknown>> } };

/** The table from the parsed spec document (used by the generator and by the test that keeps it in sync). */
export function extractOperations(doc: SpecDoc): PublishedOperation[] {
  const out: PublishedOperation[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = ops[method];
      if (!op) continue;
      let schema = op.requestBody?.content?.['application/json']?.schema;
      if (schema && typeof schema.$ref === 'string') schema = doc.components?.schemas?.[schema.$ref.replace('#/components/schemas/', '')];
      out.push({
        method: method.toUpperCase() as PublishedOperation['method'],
        path,
        operationId: op.operationId ?? '',
        collection: collectionOf(path),
        bodyRequired: op.requestBody ? [...(((schema?.required as string[] | undefined) ?? []))] : null,
      });
    }
  }
  return out;
}

/** `{account_id}` → `:accountId(^[^:]+)`; a name the path already used gets a number; `:verb` → `::verb`. */
export function fastifyPath(specPath: string): string {
  const seen = new Map<string, number>();
  return specPath.replace(/:/g, '::').replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const camel = name.replace(/_([a-z])/g, (_c, ch: string) => ch.toUpperCase());
    const n = (seen.get(camel) ?? 0) + 1;
    seen.set(camel, n);
    const unique = n === 1 ? camel : `${camel}${n}`;
    // Ids stop at the `:verb` separator (as in the route files); without the pattern, fastify
    // would read `:accountId::testeval` as one parameter named `accountId::testeval`.
    return `:${unique}(^[^:]+)`;
  });
}

const byKey = new Map<string, PublishedOperation>(PUBLISHED_OPERATIONS.map((op) => [`${op.method} ${shapeOf(op.path)}`, op]));

/** The published operation at `method` + `path` (any of the three spellings), if the spec has it. */
export function publishedOperation(method: string, path: string): PublishedOperation | undefined {
  return byKey.get(`${method.toUpperCase()} ${shapeOf(path)}`);
}

/**
 * The fields a request body must have, or `[]` when the body is optional. An Update (PATCH of a
 * resource) carries a partial resource and names what it changes by its keys (AIP-134): the
 * resource's REQUIRED fields, which the spec copies into the PATCH schema, do not apply to it.
 */
export function requiredBodyFields(op: PublishedOperation): readonly string[] {
  if (op.bodyRequired === null || op.method === 'PATCH') return [];
  return op.bodyRequired;
}

export { PUBLISHED_OPERATIONS };
