// Models (PostgreSQL): list, get, create (the `{model, modelId}` wrapper body), update, delete, and
// the files: `:getUploadEndpoint` → signed PUT URLs, `:validateUpload` → READY, `:getDownloadEndpoint`
// → signed GET URLs (src/api/models/files.ts; the bytes live in the artifact store). See
// mappers/model.ts for the wire ⇄ row mapping and the rules of a whole model.
import { z } from 'zod';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Db } from '../../db/client.js';
import { createModel, deleteModel, getModel, listModels, updateModel } from '../../db/repositories/models.js';
import type { ModelRow } from '../../db/schema/index.js';
import type { ApiContext } from '../context.js';
import type { CustomObject } from '../kube/kind-client.js';
import { accountNamespace } from '../kube/namespaces.js';
import { deployedModelRef } from '../mappers/deployed-model.js';
import {
  ATOMIC_PATHS,
  COLLECTION,
  CreateModelBody,
  ModelBody,
  ModelResponse,
  SHARED_MODELS_ACCOUNT,
  WRITABLE_FIELDS,
  isOutputOnlyPath,
  modelToWire,
  modelViolations,
  rowFieldsOf,
  writableFromWire,
  writableOfRow,
} from '../mappers/model.js';
import { resourceNotFound } from '../collections/names.js';
import { FileUrlSigner, filesPathPrefix, type FileGrant } from '../files/signed-url.js';
import { ModelFilesService, type ModelFileOptions } from '../models/files.js';
import { sendError } from '../plugins/errors.js';
import { failedPrecondition, invalidArgument, invalidArguments, notFound, unauthenticated } from '../wire/errors.js';
import { applyFieldMask, updatePaths, type UpdateMaskRules } from '../wire/field-mask.js';
import { listPage } from '../wire/pagination.js';
import { parseResourceName, validateResourceId } from '../wire/resource-names.js';
import { AccountParams, Empty, ListQuery, ReadMaskQuery, errorResponses, listResponse, listResponseSchema, masked, UpdateMaskQuery } from './common.js';

const ModelParams = AccountParams.extend({ modelId: z.string().describe('The model id.') });
/** `{id}:verb` paths may follow; the id may not contain ':'. */
const ID = ':modelId(^[^:]+)';
const tags = ['Models'];

/**
 * A model named in a request (`peftDetails.baseModel`, a DeployedModel's `model`): the caller's own
 * model or another account's public one must exist; shared models under `accounts/fireworks/models/*`
 * are taken by name (undefined: nothing is known about them). Another account's private model reads
 * exactly like a missing one.
 */
export async function resolveModelRef(db: Db, callerAccountId: string, name: unknown, field: string): Promise<ModelRow | undefined> {
  const { accountId, id } = parseResourceName(name, COLLECTION, field);
  if (accountId === SHARED_MODELS_ACCOUNT && callerAccountId !== SHARED_MODELS_ACCOUNT) return undefined;
  const row = await getModel(db, accountId, id);
  if (row && (accountId === callerAccountId || row.spec.public === true)) return row;
  throw notFound('model', `accounts/${accountId}/${COLLECTION}/${id}`);
}

/** Throws INVALID_ARGUMENT naming every rule a whole model breaks; checks the base model exists. */
async function validateModel(db: Db, accountId: string, writable: Record<string, unknown>, prefix: string): Promise<void> {
  const violations = modelViolations(writable, prefix);
  if (violations.length > 0) throw invalidArguments(violations);
  const base = (writable.peftDetails as { baseModel?: unknown } | undefined)?.baseModel;
  if (base !== undefined) await resolveModelRef(db, accountId, base, `${prefix}peftDetails.baseModel`);
}

const UploadEndpointBody = z
  .strictObject({
    filenameToSize: z
      .record(z.string().min(1).max(1024), z.union([z.string(), z.number()]))
      .describe('File name (a relative path such as config.json or original/params.json) → size in bytes (int64 string).'),
    enableResumableUpload: z.boolean().optional().describe('Accepted; every URL takes one PUT of the whole file.'),
    readMask: z.string().max(4096).optional().describe('Accepted for compatibility.'),
  })
  .describe('GatewayGetModelUploadEndpointBody.');
const SignedUrls = (what: string) => z.object({ filenameToSignedUrls: z.record(z.string(), z.string()) }).describe(what);
const ValidateUploadQuery = z.object({
  skipHfConfigValidation: z.stringbool().optional().describe('Accepted; Hearth always checks the files it needs.'),
  trustRemoteCode: z.stringbool().optional().describe('Accepted; no code is run.'),
  configOnly: z.stringbool().optional().describe('Accepted; Hearth always checks the files it needs.'),
});
const ValidateUploadResponse = z.object({ warnings: z.array(z.string()).optional() }).describe('Warnings of the validation (e.g. target modules the config lacks).');

/** The request's own origin: the base of signed URLs unless a public base URL is configured. */
const originOf = (request: FastifyRequest): string => `${request.protocol}://${request.host}`;

const MASK_RULES: UpdateMaskRules = { writable: WRITABLE_FIELDS, isOutputOnly: isOutputOnlyPath, atomic: ATOMIC_PATHS };

class Models {
  constructor(
    private readonly ctx: ApiContext,
    readonly files: ModelFilesService,
  ) {}

  /** Where the model is loaded: the account's DeployedModels naming it (from the watch-fed cache). */
  refs(row: ModelRow): ReturnType<typeof deployedModelRef>[] | undefined {
    const client = this.ctx.kinds?.deployedModels;
    if (!client) return undefined;
    const name = `accounts/${row.accountId}/${COLLECTION}/${row.modelId}`;
    return this.loadedAs(name, client.list(accountNamespace(row.accountId))).map((o) => deployedModelRef(o, row.accountId));
  }

  /** The DeployedModels among `objects` (one account's namespace) that load `modelName`. */
  loadedAs(modelName: string, objects: CustomObject[]): CustomObject[] {
    return objects.filter((o) => o.spec?.model === modelName);
  }

  async load(accountId: string, modelId: string): Promise<ModelRow> {
    validateResourceId(modelId, 'modelId');
    const row = await getModel(this.ctx.db, accountId, modelId);
    if (!row) throw resourceNotFound(accountId, COLLECTION, modelId);
    return row;
  }

  async create(accountId: string, createdBy: string, body: z.infer<typeof CreateModelBody>): Promise<Record<string, unknown>> {
    const modelId = validateResourceId(body.modelId, 'modelId');
    if (body.cluster) throw invalidArgument('cluster', 'must be empty: Hearth has no BYOC clusters', 'NOT_ALLOWED');
    const writable = writableFromWire((body.model ?? {}) as Record<string, unknown>);
    await validateModel(this.ctx.db, accountId, writable, 'model.');
    const now = this.ctx.now();
    const row = await createModel(this.ctx.db, { accountId, modelId, ...rowFieldsOf(writable), state: 'UPLOADING', status: { code: 'OK' }, createdBy, createTime: now, updateTime: now });
    return modelToWire(row);
  }

  async update(accountId: string, modelId: string, body: Record<string, unknown>, updateMask: string | undefined): Promise<Record<string, unknown>> {
    const mask = updatePaths(body, updateMask, MASK_RULES);
    const cur = await this.load(accountId, modelId);
    if (mask.length === 0) return modelToWire(cur, this.refs(cur));
    const next = applyFieldMask(writableOfRow(cur), writableFromWire(body), mask);
    await validateModel(this.ctx.db, accountId, next, '');
    const row = await updateModel(this.ctx.db, accountId, modelId, rowFieldsOf(next), this.ctx.now());
    return modelToWire(row, this.refs(row));
  }

  async delete(accountId: string, modelId: string): Promise<void> {
    const row = await this.load(accountId, modelId);
    const client = this.ctx.kinds?.deployedModels;
    const name = `accounts/${accountId}/${COLLECTION}/${modelId}`;
    const loaded = client ? this.loadedAs(name, client.list(accountNamespace(accountId))) : [];
    if (loaded.length > 0) {
      const dm = `accounts/${accountId}/deployedModels/${loaded[0]!.metadata.name}`;
      throw failedPrecondition(`model "${name}" is loaded as ${dm}${loaded.length > 1 ? ` and ${loaded.length - 1} more` : ''}; unload it first`, 'ERR_MODEL_IN_USE');
    }
    await deleteModel(this.ctx.db, row.accountId, row.modelId);
    await this.files.removeAll(row);
  }

  async list(accountId: string, q: z.infer<typeof ListQuery>): Promise<Record<string, unknown>> {
    const all = (await listModels(this.ctx.db, accountId)).map((r) => modelToWire(r));
    const page = listPage(all, q, { binding: { parent: `accounts/${accountId}/${COLLECTION}` }, codec: this.ctx.pageTokens, defaultOrderBy: 'name' });
    return listResponse(COLLECTION, page.items.map((m) => masked(m, q.readMask)), page);
  }
}

const models: FastifyPluginAsyncZod<ModelFileOptions> = async (app, opts) => {
  const svc = new Models(app.hearth, new ModelFilesService(app.hearth.db, app.hearth.artifacts, opts, app.log));

  app.get('/accounts/:accountId/models', {
    schema: {
      summary: 'List Models',
      description: 'Default order: name.',
      tags,
      operationId: 'Gateway_ListModels',
      params: AccountParams,
      querystring: ListQuery,
      response: { 200: listResponseSchema('models', ModelResponse), ...errorResponses },
    },
    handler: async (request) => svc.list(request.params.accountId, request.query),
  });

  app.post('/accounts/:accountId/models', {
    schema: {
      summary: 'Create Model',
      description: 'Body: `{model, modelId}`. The model starts UPLOADING (its files have not been uploaded).',
      tags,
      operationId: 'Gateway_CreateModel',
      params: AccountParams,
      body: CreateModelBody,
      response: { 200: ModelResponse, ...errorResponses, 409: errorResponses[400] },
    },
    handler: async (request) => svc.create(request.params.accountId, request.principal.email, request.body),
  });

  app.get(`/accounts/:accountId/models/${ID}`, {
    schema: {
      summary: 'Get Model',
      description: 'Includes deployedModelRefs: the DeployedModels loading this model.',
      tags,
      operationId: 'Gateway_GetModel',
      params: ModelParams,
      querystring: ReadMaskQuery,
      response: { 200: ModelResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, modelId } = request.params;
      const row = await svc.load(accountId, modelId);
      return masked(modelToWire(row, svc.refs(row)), request.query.readMask);
    },
  });

  app.patch(`/accounts/:accountId/models/${ID}`, {
    schema: {
      summary: 'Update Model',
      description: 'The update mask is the set of fields in the body (or `updateMask`); output-only fields are ignored.',
      tags,
      operationId: 'Gateway_UpdateModel',
      params: ModelParams,
      querystring: UpdateMaskQuery,
      body: ModelBody,
      response: { 200: ModelResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, modelId } = request.params;
      validateResourceId(modelId, 'modelId');
      return svc.update(accountId, modelId, request.body as Record<string, unknown>, request.query.updateMask);
    },
  });

  app.delete(`/accounts/:accountId/models/${ID}`, {
    schema: {
      summary: 'Delete Model',
      description: 'Deletes the model now. A model still loaded by a DeployedModel answers FAILED_PRECONDITION.',
      tags,
      operationId: 'Gateway_DeleteModel',
      params: ModelParams,
      response: { 200: Empty, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, modelId } = request.params;
      await svc.delete(accountId, modelId);
      return {};
    },
  });

  app.post(`/accounts/:accountId/models/${ID}::getUploadEndpoint`, {
    schema: {
      summary: 'Get Model Upload Endpoint',
      description: 'A signed, expiring URL per file: PUT the raw bytes to it (no API key; exactly the size given), then call :validateUpload. 412 once the model is READY.',
      tags,
      operationId: 'Gateway_GetModelUploadEndpoint',
      params: ModelParams,
      body: UploadEndpointBody,
      response: { 200: SignedUrls('Signed URLs for uploading model files (PUT the raw bytes).'), ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, modelId } = request.params;
      await svc.load(accountId, modelId);
      return { filenameToSignedUrls: await svc.files.uploadEndpoint(originOf(request), { accountId, modelId }, request.body.filenameToSize, app.hearth.now()) };
    },
  });

  app.get(`/accounts/:accountId/models/${ID}::validateUpload`, {
    schema: {
      summary: 'Validate Model Upload',
      description:
        'Checks the uploaded files for the model\'s kind (an adapter: adapter_config.json and adapter_model.safetensors or .bin; a base model: config.json, a tokenizer and weights; every declared file with its declared size; JSON configs and safetensors headers parsed). Valid: the model becomes READY. Otherwise 400 naming each missing or invalid file; the model stays UPLOADING with that status.',
      tags,
      operationId: 'Gateway_ValidateModelUpload',
      params: ModelParams,
      querystring: ValidateUploadQuery,
      response: { 200: ValidateUploadResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, modelId } = request.params;
      validateResourceId(modelId, 'modelId');
      const { warnings } = await svc.files.validate(accountId, modelId, app.hearth.now);
      return warnings.length > 0 ? { warnings } : {};
    },
  });

  app.get(`/accounts/:accountId/models/${ID}::getDownloadEndpoint`, {
    schema: {
      summary: 'Get Model Download Endpoint',
      description: 'A signed, expiring URL (no API key needed) per uploaded file; GET it for the bytes.',
      tags,
      operationId: 'Gateway_GetModelDownloadEndpoint',
      params: ModelParams,
      querystring: ReadMaskQuery,
      response: { 200: SignedUrls('Signed URLs for downloading model files (GET).'), ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, modelId } = request.params;
      const row = await svc.load(accountId, modelId);
      return { filenameToSignedUrls: svc.files.downloadEndpoint(originOf(request), row, app.hearth.now()) };
    },
  });
};

export default models;

/**
 * The targets of models' signed URLs: `PUT /v1-files/models/{a}/{m}/{file}?size&expires&signature`
 * with the raw bytes, `GET` of the same form for a download. Outside `/v1` (the signature is the
 * credential) and not in the OpenAPI document, like the datasets' (routes/datasets.ts).
 */
export const modelFileUrlRoutes = async (app: FastifyInstance, opts: ModelFileOptions): Promise<void> => {
  const svc = new ModelFilesService(app.hearth.db, app.hearth.artifacts, opts, app.log);
  const signer = new FileUrlSigner(opts.uploadUrlSecret);
  // Any content type: the handler streams the raw request body.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  const grantOf = (request: FastifyRequest, op: FileGrant['op']): FileGrant | { error: string } => {
    const p = request.params as { accountId: string; modelId: string; fileName: string };
    const q = request.query as Record<string, string | undefined>;
    return signer.verify(
      { op, collection: 'models', accountId: p.accountId, resourceId: p.modelId, fileName: p.fileName, size: q.size, expires: q.expires, signature: q.signature },
      app.hearth.now().getTime(),
    );
  };
  const path = `${filesPathPrefix('models')}/:accountId/:modelId/:fileName`;
  app.put(path, { schema: { hide: true } as Record<string, unknown> }, async (request, reply) => {
    const grant = grantOf(request, 'upload');
    if ('error' in grant) return sendError(reply, unauthenticated(grant.error));
    await svc.put(grant, { contentLength: request.headers['content-length'], bytes: request.raw as AsyncIterable<Buffer> }, app.hearth.now);
    return reply.code(200).send({});
  });
  app.get(path, { schema: { hide: true } as Record<string, unknown> }, async (request, reply) => {
    const grant = grantOf(request, 'download');
    if ('error' in grant) return sendError(reply, unauthenticated(grant.error));
    const file = await svc.open(grant);
    if (!file) return sendError(reply, resourceNotFound(grant.accountId, COLLECTION, grant.resourceId));
    const base = grant.fileName.split('/').pop() ?? grant.fileName;
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', String(file.size))
      .header('content-disposition', `attachment; filename="${base.replace(/["\\]/g, '_')}"`)
      .send(file.body);
  });
};
