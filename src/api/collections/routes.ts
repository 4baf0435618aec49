// The standard routes of a cluster-backed collection (AIP-131..135 and :batchDelete), registered
// from a short description of their OpenAPI documentation; the handlers call CollectionService.
// A kind's route file is one `collectionRoutes` call: its documentation, bodies and custom verbs.
import { idempotentCreate } from './idempotency.js';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { AccountParams, Empty, ListQuery, ReadMaskQuery, UpdateMaskQuery, errorResponses, listResponseSchema } from '../routes/common.js';
import type { CollectionService, KindObject, Wire } from './service.js';

/** The fastify instance a route plugin gets. */
export type ZodApp = Parameters<FastifyPluginAsyncZod>[0];

/** An operation's documentation; the summary defaults to e.g. "List Node Pools". */
export interface OperationDoc {
  summary?: string;
  description?: string;
}

export interface CollectionRoutesDoc {
  tags: string[];
  /** Operation ids `Gateway_List<many>`, `Gateway_Create<one>`, … */
  names: { one: string; many: string };
  /** Default summaries `List <many>`, `Create <one>`, … */
  titles: { one: string; many: string };
  /** Path parameters of an item: the account and `<idField>`. */
  params: z.ZodObject;
  /** The resource as returned. */
  response: z.ZodType;
  list: OperationDoc & { query?: z.ZodType };
  create: OperationDoc & {
    body: z.ZodType;
    query?: z.ZodType;
    /**
     * Where the caller's id comes from: `body` (`{fooId, foo}`: the resource under `resourceField`),
     * `query` (`?fooId=`, the body is the resource; absent: assigned), or `none` (always assigned).
     */
    idFrom: 'body' | 'query' | 'none';
    resourceField?: string;
    /** 409 ALREADY_EXISTS is documented. */
    conflict?: boolean;
  };
  batchDelete?: OperationDoc & { body: z.ZodType };
  get?: OperationDoc;
  update?: OperationDoc & { body: z.ZodType; query?: z.ZodType };
  delete: OperationDoc & { query?: z.ZodType };
  /** Custom methods on an item (`{id}:cancel`, …), registered after the standard ones. */
  verbs?: VerbRoute[];
}

/** A custom method `POST|GET|PATCH …/{id}:<verb>`. */
export interface VerbRoute {
  method: 'GET' | 'POST' | 'PATCH';
  verb: string;
  /** `Gateway_<operation>`, e.g. `CancelBatchJob`. */
  operation: string;
  summary: string;
  description: string;
  query?: z.ZodType;
  body?: z.ZodType;
  /** The 200 response; absent: `{}` (whatever the handler returns is dropped). */
  response?: z.ZodType;
  /** Gets the account and the checked path id; the request for its (validated) body and query. */
  handler(accountId: string, id: string, request: FastifyRequest): Promise<unknown>;
}

/** `/accounts/:accountId/<collection>/:<idField>` — the id may not contain ':' (`{id}:verb` paths). */
function itemPath<T extends KindObject>(svc: CollectionService<T>, verb = ''): string {
  return `/accounts/:accountId/${svc.kind.collection}/:${svc.kind.idField}(^[^:]+)${verb ? `::${verb}` : ''}`;
}

/** `accountId` and the path id (checked as the kind wants) of an item route. */
function itemParams<T extends KindObject>(svc: CollectionService<T>, request: FastifyRequest): { accountId: string; id: string } {
  const params = request.params as Record<string, string>;
  return { accountId: params.accountId!, id: svc.pathId(params[svc.kind.idField]!) };
}

/** Schema keys in the order the route files always wrote them (the OpenAPI document keeps it). */
function schema(doc: OperationDoc, summary: string, rest: { tags: string[]; operationId: string; params: z.ZodType; querystring?: z.ZodType; body?: z.ZodType; response: Record<number, z.ZodType> }): Record<string, unknown> {
  const { querystring, body, ...head } = rest;
  return {
    summary: doc.summary ?? summary,
    ...(doc.description !== undefined ? { description: doc.description } : {}),
    tags: head.tags,
    operationId: head.operationId,
    params: head.params,
    ...(querystring ? { querystring } : {}),
    ...(body ? { body } : {}),
    response: head.response,
  };
}

/**
 * Registers, in this order: list, create, batchDelete (if documented), get, update (if documented),
 * delete, then the verbs. Item routes check the path id first (`svc.pathId`).
 */
export function collectionRoutes<T extends KindObject>(app: ZodApp, svc: CollectionService<T>, doc: CollectionRoutesDoc): void {
  const { tags, names, titles, params, response } = doc;
  const { collection, idField } = svc.kind;
  const base = `/accounts/:accountId/${collection}`;
  const one = { 200: response, ...errorResponses };
  const empty = { 200: Empty, ...errorResponses };
  const accountOf = (request: FastifyRequest): string => (request.params as { accountId: string }).accountId;

  app.route({
    method: 'GET',
    url: base,
    schema: schema(doc.list, `List ${titles.many}`, {
      tags,
      operationId: `Gateway_List${names.many}`,
      params: AccountParams,
      querystring: doc.list.query ?? ListQuery,
      response: { 200: listResponseSchema(collection, response), ...errorResponses },
    }),
    handler: async (request) => svc.list(accountOf(request), request.query as z.infer<typeof ListQuery>),
  });

  const { create } = doc;
  app.route({
    method: 'POST',
    url: base,
    schema: schema(create, `Create ${titles.one}`, {
      tags,
      operationId: `Gateway_Create${names.one}`,
      params: AccountParams,
      querystring: create.query,
      body: create.body,
      response: create.conflict ? { ...one, 409: errorResponses[400] } : one,
    }),
    handler: async (request, reply) => {
      const body = request.body as Wire;
      const query = (create.query ? request.query : {}) as Record<string, unknown>;
      const createdBy = request.principal.email;
      const admin = request.principal.role === 'admin';
      const run = (): Promise<Wire> => {
        if (create.idFrom === 'body') {
          const field = create.resourceField!;
          return svc.create(accountOf(request), { id: body[idField] as string, resource: body[field] as Wire, field, createdBy, admin, query });
        }
        const id = create.idFrom === 'query' ? (query[idField] as string | undefined) : undefined;
        return svc.create(accountOf(request), { id, resource: body, createdBy, admin, query });
      };
      // A retried create (same Idempotency-Key / X-Request-Id) answers the first one's response.
      return query.validateOnly === true ? run() : idempotentCreate(svc.ctx, request, reply, run);
    },
  });

  if (doc.batchDelete) {
    app.route({
      method: 'POST',
      url: `${base}::batchDelete`,
      schema: schema(doc.batchDelete, `Batch Delete ${titles.many}`, { tags, operationId: `Gateway_BatchDelete${names.many}`, params: AccountParams, body: doc.batchDelete.body, response: empty }),
      handler: async (request) => {
        await svc.batchDelete(accountOf(request), (request.body as { names: string[] }).names);
        return {};
      },
    });
  }

  app.route({
    method: 'GET',
    url: itemPath(svc),
    schema: schema(doc.get ?? {}, `Get ${titles.one}`, { tags, operationId: `Gateway_Get${names.one}`, params, querystring: ReadMaskQuery, response: one }),
    handler: async (request) => {
      const { accountId, id } = itemParams(svc, request);
      return svc.get(accountId, id, (request.query as { readMask?: string }).readMask);
    },
  });

  const { update } = doc;
  if (update) {
    app.route({
      method: 'PATCH',
      url: itemPath(svc),
      schema: schema(update, `Update ${titles.one}`, { tags, operationId: `Gateway_Update${names.one}`, params, querystring: update.query ?? UpdateMaskQuery, body: update.body, response: one }),
      handler: async (request) => {
        const { accountId, id } = itemParams(svc, request);
        return svc.update(accountId, id, request.body as Wire, (request.query as { updateMask?: string }).updateMask);
      },
    });
  }

  app.route({
    method: 'DELETE',
    url: itemPath(svc),
    schema: schema(doc.delete, `Delete ${titles.one}`, { tags, operationId: `Gateway_Delete${names.one}`, params, querystring: doc.delete.query, response: empty }),
    handler: async (request) => {
      const { accountId, id } = itemParams(svc, request);
      await svc.delete(accountId, id, request.query as Record<string, unknown>);
      return {};
    },
  });

  for (const v of doc.verbs ?? []) {
    app.route({
      method: v.method,
      url: itemPath(svc, v.verb),
      schema: schema(v, v.summary, { tags, operationId: `Gateway_${v.operation}`, params, querystring: v.query, body: v.body, response: v.response ? { 200: v.response, ...errorResponses } : empty }),
      handler: async (request) => {
        const { accountId, id } = itemParams(svc, request);
        const out = await v.handler(accountId, id, request);
        return v.response ? out : {};
      },
    });
  }
}
