// Datasets (PostgreSQL): metadata CRUD, and the upload flows users follow with firectl and the SDK:
//
// - `POST …/datasets/{id}:upload` — multipart/form-data with a `file` part: streamed, validated line
//   by line (src/api/datasets/jsonl.ts) and stored in chunks (src/api/datasets/storage.ts); a valid
//   file makes the dataset READY with its exampleCount, a bad one answers 400 naming the lines and
//   rules and leaves nothing stored.
// - `POST …/datasets/{id}:getUploadEndpoint` `{filenameToSize}` → `{filenameToSignedUrls}`: a URL
//   back at Hearth, HMAC-signed, expiring, bound to the dataset, file name and size; a `PUT` of the
//   raw bytes to it stores the file (no API key: the signature is the credential). Then
//   `POST …:validateUpload` validates what was stored and flips the dataset to READY.
// - `GET …/datasets/{id}:getDownloadEndpoint` → `{filenameToSignedUrls}`: signed URLs of the same
//   kind; a `GET` of one returns the stored file.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import multipart from '@fastify/multipart';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../../db/client.js';
import { createDataset, deleteDataset, getDataset, listDatasets, updateDataset, type DatasetPatch } from '../../db/repositories/datasets.js';
import { datasets as datasetsTable, type DatasetRow } from '../../db/schema/index.js';
import { JsonlValidator, formatIssue, type JsonlSummary, type JsonlValidationOptions } from '../datasets/jsonl.js';
import { DATASET_STORAGE_URI, DEFAULT_CHUNK_BYTES, DatasetContents, sanitizeFileName, type StagedWriter } from '../datasets/storage.js';
import { DEFAULT_UPLOAD_URL_TTL_MS, FILES_PATH_PREFIX, UploadUrlSigner, type UploadGrant } from '../datasets/upload-url.js';
import {
  COLLECTION,
  CreateDatasetBody,
  DatasetBody,
  DatasetResponse,
  OUTPUT_ONLY_FIELDS,
  SOURCE_FIELDS,
  WRITABLE_FIELDS,
  checkSourceOneof,
  fieldsFromWire,
  patchSpec,
  toWire,
} from '../mappers/dataset.js';
import { resourceNameOf, resourceNotFound } from '../resources.js';
import { sendError } from '../plugins/errors.js';
import { ApiError, ERROR_DOMAIN, aborted, failedPrecondition, invalidArgument, unauthenticated, unimplemented } from '../wire/errors.js';
import { parseFieldMask, fieldMaskFromBody } from '../wire/field-mask.js';
import { parseSafeInt64 } from '../wire/int64.js';
import { listPage } from '../wire/pagination.js';
import { validateResourceId } from '../wire/resource-names.js';
import { AccountParams, Empty, ListQuery, ReadMaskQuery, errorResponses, listResponse, listResponseSchema, masked, UpdateMaskQuery } from './common.js';

export const DEFAULT_MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;

export interface DatasetRoutesOptions extends JsonlValidationOptions {
  /** Largest file accepted by `:upload` and signed URLs (default 1 GiB). */
  maxUploadBytes?: number;
  /** Bytes per stored chunk (default 4 MiB); also the upload buffer. */
  chunkBytes?: number;
  /** HMAC secret of signed upload URLs; give every replica the same one (default: random per process). */
  uploadUrlSecret?: string | Buffer;
  uploadUrlTtlMs?: number;
  /** Base of signed URLs, e.g. `https://hearth.example.com` (default: the request's own origin). */
  publicBaseUrl?: string;
}

const DatasetParams = AccountParams.extend({ datasetId: z.string().describe('The dataset id.') });
/** `{id}:verb` paths: the id may not contain ':' (fastify regex parameter). */
const ID = ':datasetId(^[^:]+)';
const ATOMIC_PATHS = [...SOURCE_FIELDS, 'evalProtocol'];

const UploadEndpointBody = z
  .strictObject({
    filenameToSize: z
      .record(z.string().min(1).max(255), z.union([z.string(), z.number()]))
      .describe('File name → size in bytes (int64 string). Hearth datasets hold one file.'),
    readMask: z.string().max(4096).optional().describe('Accepted for compatibility.'),
  })
  .describe('GatewayGetDatasetUploadEndpointBody.');
const UploadEndpointResponse = z.object({ filenameToSignedUrls: z.record(z.string(), z.string()) }).describe('Signed URLs for uploading dataset files (PUT the raw bytes).');
const DownloadEndpointResponse = z.object({ filenameToSignedUrls: z.record(z.string(), z.string()) }).describe('Signed URLs for downloading dataset files (GET).');
const DownloadEndpointQuery = ReadMaskQuery.extend({ downloadLineage: z.stringbool().optional().describe('Accepted; only this dataset\'s own file is returned.') });
const UploadResponse = z
  .object({ id: z.string(), bytes: z.number(), created_at: z.number(), filename: z.string(), object: z.literal('file'), purpose: z.string() })
  .partial()
  .describe('DatasetUploadResponse: the stored file.');

/** INVALID_ARGUMENT for a file that breaks the dataset rules: every collected issue, by line. */
export function invalidDatasetFile(fileName: string, summary: JsonlSummary, maxErrors: number): ApiError {
  const shown = summary.issues.map(formatIssue);
  const more = summary.issueCount > summary.issues.length || summary.issues.length >= maxErrors ? ` (only the first ${summary.issues.length} errors are listed)` : '';
  return new ApiError('INVALID_ARGUMENT', `file "${fileName}" is not a valid dataset: ${shown.join('; ')}${more}`, [
    { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: summary.issues.map((i) => ({ field: 'file', description: formatIssue(i), reason: i.reason })) },
    { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ERR_INVALID_DATASET', domain: ERROR_DOMAIN, metadata: { fileName, errors: String(summary.issueCount), lines: String(summary.lines) } },
  ]);
}

/** Errors of the multipart parser (busboy): bad input, never a 500. */
function malformedMultipart(e: unknown): unknown {
  if (e instanceof ApiError) return e;
  const message = e instanceof Error ? e.message.slice(0, 200) : String(e);
  return invalidArgument('(body)', `is not a valid multipart/form-data body: ${message}`, 'MALFORMED_MULTIPART');
}

function fileTooLarge(limit: number): ApiError {
  return invalidArgument('file', `is larger than the upload limit of ${limit} bytes`, 'FILE_TOO_LARGE');
}

class Datasets {
  readonly contents: DatasetContents;
  readonly maxUploadBytes: number;

  constructor(
    readonly db: Db,
    readonly opts: DatasetRoutesOptions,
    readonly log: FastifyBaseLogger,
  ) {
    this.contents = new DatasetContents(db, opts.chunkBytes ?? DEFAULT_CHUNK_BYTES);
    this.maxUploadBytes = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  }

  async load(accountId: string, id: string): Promise<DatasetRow> {
    validateResourceId(id, 'datasetId');
    const row = await getDataset(this.db, accountId, id);
    if (!row) throw resourceNotFound(accountId, COLLECTION, id);
    return row;
  }

  async create(accountId: string, body: z.infer<typeof CreateDatasetBody>, createdBy: string): Promise<DatasetRow> {
    const id = validateResourceId(body.datasetId, 'datasetId');
    const dataset = body.dataset as Record<string, unknown>;
    checkSourceOneof(dataset, 'dataset.');
    const f = fieldsFromWire(dataset, 'dataset.');
    if (body.filter !== undefined && body.filter.trim() !== '') throw unimplemented('creating a dataset with a filter over its source');
    if (body.sourceDatasetId === undefined || body.sourceDatasetId === '') {
      const spec = SOURCE_FIELDS.some((k) => f.spec[k] !== undefined) ? f.spec : { ...f.spec, userUploaded: {} };
      return createDataset(this.db, { accountId, datasetId: id, displayName: f.displayName ?? '', format: f.format ?? 'FORMAT_UNSPECIFIED', exampleCount: f.exampleCount ?? null, spec, createdBy });
    }
    return this.copy(accountId, id, body.sourceDatasetId, f, createdBy);
  }

  /** A new dataset with a READY dataset's content (`sourceDatasetId` without a filter). */
  async copy(accountId: string, id: string, sourceId: string, f: ReturnType<typeof fieldsFromWire>, createdBy: string): Promise<DatasetRow> {
    validateResourceId(sourceId, 'sourceDatasetId');
    const source = await getDataset(this.db, accountId, sourceId);
    if (!source) throw resourceNotFound(accountId, COLLECTION, sourceId);
    if (source.state !== 'READY') throw failedPrecondition(`source dataset "${resourceNameOf(accountId, COLLECTION, sourceId)}" is ${source.state}; only READY datasets can be copied`);
    const hasSource = SOURCE_FIELDS.some((k) => f.spec[k] !== undefined);
    const spec = { ...f.spec, ...(hasSource ? {} : { transformed: { sourceDatasetId: sourceId, originalFormat: source.format } }), averageTurnCount: source.spec.averageTurnCount };
    return this.db.transaction(async (tx) => {
      const row = await createDataset(tx as unknown as Db, {
        accountId,
        datasetId: id,
        displayName: f.displayName ?? source.displayName,
        format: f.format ?? source.format,
        state: 'READY',
        exampleCount: source.exampleCount,
        estimatedTokenCount: source.estimatedTokenCount,
        spec,
        storageUri: DATASET_STORAGE_URI,
        createdBy,
      });
      await this.contents.copy(tx as unknown as Db, accountId, sourceId, id);
      return row;
    });
  }

  async update(accountId: string, id: string, body: Record<string, unknown>, updateMask: string | undefined): Promise<DatasetRow> {
    const requested = parseFieldMask(updateMask, 'updateMask') ?? fieldMaskFromBody(body, ATOMIC_PATHS);
    const mask: string[] = [];
    for (const p of requested) {
      const top = p.split('.')[0]!;
      if (WRITABLE_FIELDS.includes(top)) mask.push(p);
      else if (!OUTPUT_ONLY_FIELDS.includes(top)) throw invalidArgument('updateMask', `unknown field "${p}"`, 'FIELD_MASK');
    }
    checkSourceOneof(body);
    const cur = await this.load(accountId, id);
    if (mask.length === 0) return cur;
    const f = fieldsFromWire(body);
    const patch: DatasetPatch = { spec: patchSpec(cur.spec, body, mask) };
    const tops = new Set(mask.map((p) => p.split('.')[0]!));
    if (tops.has('displayName')) patch.displayName = f.displayName ?? '';
    if (tops.has('format')) patch.format = f.format ?? 'FORMAT_UNSPECIFIED';
    if (tops.has('exampleCount')) patch.exampleCount = f.exampleCount ?? null;
    return updateDataset(this.db, accountId, id, patch);
  }

  validator(): JsonlValidator {
    return new JsonlValidator(this.opts);
  }

  /**
   * Makes a staged file the dataset's content; with a summary (validated), also READY with its
   * counts. The dataset must still be UPLOADING (checked under a row lock).
   */
  async commit(w: StagedWriter, summary: JsonlSummary | undefined): Promise<DatasetRow> {
    const { accountId, datasetId } = w;
    return this.contents.commit(w, async (tx) => {
      const [row] = await tx
        .select()
        .from(datasetsTable)
        .where(and(eq(datasetsTable.accountId, accountId), eq(datasetsTable.datasetId, datasetId)))
        .for('update');
      if (!row) throw resourceNotFound(accountId, COLLECTION, datasetId);
      if (row.state === 'READY') throw alreadyReady(accountId, datasetId);
      const patch: DatasetPatch = { storageUri: DATASET_STORAGE_URI, status: { code: 'OK' } };
      if (summary) Object.assign(patch, readyPatch(row, summary));
      return updateDataset(tx, accountId, datasetId, patch);
    });
  }

  /** `:upload`: the multipart `file` part, streamed through the validator into a staged file. */
  async upload(request: FastifyRequest, accountId: string, id: string): Promise<Record<string, unknown>> {
    const row = await this.load(accountId, id);
    if (row.state === 'READY') throw alreadyReady(accountId, id);
    if (!request.isMultipart()) throw invalidArgument('Content-Type', 'must be multipart/form-data with the dataset in a "file" part', 'MEDIA_TYPE');
    const part = await request.file({ limits: { fileSize: this.maxUploadBytes, files: 1, fields: 10 }, throwFileSizeLimit: false }).catch((e: unknown) => {
      throw malformedMultipart(e);
    });
    if (!part) throw invalidArgument('file', 'is required: send the dataset as the multipart part named "file"', 'REQUIRED');
    if (part.fieldname !== 'file') {
      part.file.resume();
      throw invalidArgument('file', `is required: the multipart part is named "${part.fieldname.slice(0, 60)}", not "file"`, 'REQUIRED');
    }
    const fileName = sanitizeFileName(part.filename);
    const writer = this.contents.writer(accountId, id, fileName);
    const validator = this.validator();
    try {
      const chunks = (part.file as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      for (;;) {
        // Errors of the stream itself (a truncated or malformed body) are the client's.
        const next = await chunks.next().catch((e: unknown) => {
          throw malformedMultipart(e);
        });
        if (next.done) break;
        const buf = next.value;
        validator.push(buf);
        // Once the file is known to be bad, nothing more is stored; the rest is still read (and
        // checked up to the error cap) so the client gets every error and a clean response.
        if (!validator.failed) await writer.write(buf);
      }
      if (part.file.truncated) throw fileTooLarge(this.maxUploadBytes);
      const summary = validator.end();
      if (summary.issueCount > 0) throw invalidDatasetFile(fileName, summary, this.opts.maxErrors ?? 20);
      await writer.finish();
      const done = await this.commit(writer, summary);
      return { id, bytes: summary.bytes, created_at: Math.floor(done.updateTime.getTime() / 1000), filename: fileName, object: 'file', purpose: 'fine-tune' };
    } catch (e) {
      await this.contents.discard(writer).catch((err: unknown) => this.log.error({ err }, 'discarding a failed dataset upload failed'));
      throw e;
    }
  }

  /** A signed `PUT`: the raw body stored as the dataset's (unvalidated) file. */
  async put(request: FastifyRequest, grant: { accountId: string; datasetId: string; fileName: string; size: number }): Promise<void> {
    const { accountId, datasetId, fileName, size } = grant;
    const row = await getDataset(this.db, accountId, datasetId);
    if (!row) throw resourceNotFound(accountId, COLLECTION, datasetId);
    if (row.state === 'READY') throw alreadyReady(accountId, datasetId);
    const declared = request.headers['content-length'];
    if (declared !== undefined && Number(declared) !== size) throw invalidArgument('Content-Length', `must be ${size}, the size the upload URL was issued for`, 'SIZE_MISMATCH');
    const writer = this.contents.writer(accountId, datasetId, fileName);
    try {
      const chunks = (request.raw as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      for (;;) {
        const next = await chunks.next().catch((e: unknown) => {
          throw invalidArgument('(body)', `could not be read: ${e instanceof Error ? e.message.slice(0, 200) : String(e)}`, 'BODY_READ');
        });
        if (next.done) break;
        const buf = next.value;
        if (writer.bytes + buf.length > size) throw invalidArgument('(body)', `is longer than the ${size} bytes the upload URL was issued for`, 'SIZE_MISMATCH');
        await writer.write(buf);
      }
      if (writer.bytes !== size) throw invalidArgument('(body)', `has ${writer.bytes} bytes; the upload URL was issued for ${size}`, 'SIZE_MISMATCH');
      await writer.finish();
      await this.commit(writer, undefined);
    } catch (e) {
      await this.contents.discard(writer).catch((err: unknown) => this.log.error({ err }, 'discarding a failed dataset upload failed'));
      throw e;
    }
  }

  /** `:validateUpload`: validates the stored file and makes the dataset READY. */
  async validateUpload(accountId: string, id: string): Promise<void> {
    const row = await this.load(accountId, id);
    if (row.state === 'READY') return;
    const files = await this.contents.files(accountId, id);
    const file = files[0];
    if (!file) throw failedPrecondition(`dataset "${resourceNameOf(accountId, COLLECTION, id)}" has no uploaded file; upload one first (:upload, or a PUT to the URL :getUploadEndpoint returns)`, 'ERR_NOTHING_UPLOADED');
    const validator = this.validator();
    const digests: string[] = [];
    for await (const buf of this.contents.read(accountId, id, file.fileName)) {
      validator.push(buf);
      digests.push(createHash('md5').update(buf).digest('hex'));
    }
    const summary = validator.end();
    if (summary.issueCount > 0) throw invalidDatasetFile(file.fileName, summary, this.opts.maxErrors ?? 20);
    await this.db.transaction(async (tx) => {
      const [locked] = await tx
        .select()
        .from(datasetsTable)
        .where(and(eq(datasetsTable.accountId, accountId), eq(datasetsTable.datasetId, id)))
        .for('update');
      if (!locked) throw resourceNotFound(accountId, COLLECTION, id);
      if (locked.state === 'READY') return;
      // Only the bytes that were validated may become READY (an upload may have replaced them since).
      const now = await this.contents.chunkDigests(tx as unknown as Db, accountId, id, file.fileName);
      if (now.length !== digests.length || now.some((d, i) => d !== digests[i])) {
        throw aborted('the dataset file changed while it was being validated; call :validateUpload again');
      }
      await updateDataset(tx as unknown as Db, accountId, id, readyPatch(locked, summary));
    });
  }

  uploadEndpoint(request: FastifyRequest, accountId: string, row: DatasetRow, filenameToSize: Record<string, string | number>, now: number): Record<string, string> {
    if (row.state === 'READY') throw alreadyReady(accountId, row.datasetId);
    const entries = Object.entries(filenameToSize);
    if (entries.length !== 1) throw invalidArgument('filenameToSize', `must name exactly one file (a Hearth dataset holds one file); it names ${entries.length}`, 'COUNT');
    const [[rawName, rawSize]] = entries as [[string, string | number]];
    const fileName = sanitizeFileName(rawName);
    if (fileName !== rawName) throw invalidArgument(`filenameToSize["${rawName.slice(0, 60)}"]`, 'must be a plain file name (no "/", no control characters)', 'FORMAT');
    const size = parseSafeInt64(rawSize, `filenameToSize["${fileName}"]`, { min: 1 });
    if (size > this.maxUploadBytes) throw invalidArgument(`filenameToSize["${fileName}"]`, `must be at most the upload limit of ${this.maxUploadBytes} bytes`, 'FILE_TOO_LARGE');
    return { [fileName]: this.signedUrl(request, { op: 'upload', accountId, datasetId: row.datasetId, fileName, size }, now) };
  }

  /** Signed download URLs of the stored file (none before anything was uploaded). */
  async downloadEndpoint(request: FastifyRequest, accountId: string, row: DatasetRow, now: number): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const f of await this.contents.files(accountId, row.datasetId)) {
      out[f.fileName] = this.signedUrl(request, { op: 'download', accountId, datasetId: row.datasetId, fileName: f.fileName, size: f.bytes }, now);
    }
    return out;
  }

  signedUrl(request: FastifyRequest, g: Omit<UploadGrant, 'expires'>, now: number): string {
    const signer = new UploadUrlSigner(this.opts.uploadUrlSecret);
    const path = signer.pathFor({ ...g, expires: now + (this.opts.uploadUrlTtlMs ?? DEFAULT_UPLOAD_URL_TTL_MS) });
    const base = this.opts.publicBaseUrl?.replace(/\/+$/, '') ?? `${request.protocol}://${request.host}`;
    return `${base}${path}`;
  }
}

function alreadyReady(accountId: string, id: string): ApiError {
  return failedPrecondition(`dataset "${resourceNameOf(accountId, COLLECTION, id)}" is READY; its content cannot be replaced (create a new dataset)`, 'ERR_DATASET_READY');
}

function readyPatch(row: DatasetRow, s: JsonlSummary): DatasetPatch {
  return {
    state: 'READY',
    status: { code: 'OK' },
    storageUri: DATASET_STORAGE_URI,
    exampleCount: BigInt(s.examples),
    estimatedTokenCount: BigInt(s.estimatedTokens),
    format: row.format === 'FORMAT_UNSPECIFIED' ? 'CHAT' : row.format,
    spec: { ...row.spec, averageTurnCount: Math.round(s.averageTurnCount * 1000) / 1000 },
  };
}

const tags = ['Datasets'];

const datasets: FastifyPluginAsyncZod<DatasetRoutesOptions> = async (app, opts) => {
  const svc = new Datasets(app.hearth.db, opts, app.log);
  // multipart/form-data for `:upload` only: registered in this (encapsulated) plugin.
  await app.register(multipart, { throwFileSizeLimit: false, limits: { fileSize: svc.maxUploadBytes, files: 1 } });

  app.get('/accounts/:accountId/datasets', {
    schema: {
      summary: 'List Datasets',
      description: 'Default order: name.',
      tags,
      operationId: 'Gateway_ListDatasets',
      params: AccountParams,
      querystring: ListQuery,
      response: { 200: listResponseSchema('datasets', DatasetResponse), ...errorResponses },
    },
    handler: async (request) => {
      const { accountId } = request.params;
      const all = (await listDatasets(svc.db, accountId)).map(toWire);
      const page = listPage(all, request.query, { binding: { parent: `accounts/${accountId}/datasets` }, codec: app.hearth.pageTokens, defaultOrderBy: 'name' });
      return listResponse('datasets', page.items.map((d) => masked(d, request.query.readMask)), page);
    },
  });

  app.post('/accounts/:accountId/datasets', {
    schema: {
      summary: 'Create Dataset',
      description: 'The dataset starts UPLOADING (source userUploaded unless another is given); upload its file with :upload. With sourceDatasetId, a copy of that READY dataset (READY at once).',
      tags,
      operationId: 'Gateway_CreateDataset',
      params: AccountParams,
      body: CreateDatasetBody,
      response: { 200: DatasetResponse, ...errorResponses, 409: errorResponses[400] },
    },
    handler: async (request) => toWire(await svc.create(request.params.accountId, request.body, request.principal.email)),
  });

  app.get(`/accounts/:accountId/datasets/${ID}`, {
    schema: { summary: 'Get Dataset', tags, operationId: 'Gateway_GetDataset', params: DatasetParams, querystring: ReadMaskQuery, response: { 200: DatasetResponse, ...errorResponses } },
    handler: async (request) => masked(toWire(await svc.load(request.params.accountId, request.params.datasetId)), request.query.readMask),
  });

  app.patch(`/accounts/:accountId/datasets/${ID}`, {
    schema: {
      summary: 'Update Dataset',
      description: 'The update mask is the set of fields in the body (or `updateMask`); output-only fields are ignored.',
      tags,
      operationId: 'Gateway_UpdateDataset',
      params: DatasetParams,
      querystring: UpdateMaskQuery,
      body: DatasetBody,
      response: { 200: DatasetResponse, ...errorResponses },
    },
    handler: async (request) => toWire(await svc.update(request.params.accountId, request.params.datasetId, request.body as Record<string, unknown>, request.query.updateMask)),
  });

  app.delete(`/accounts/:accountId/datasets/${ID}`, {
    schema: { summary: 'Delete Dataset', description: 'Deletes the dataset and its stored file.', tags, operationId: 'Gateway_DeleteDataset', params: DatasetParams, response: { 200: Empty, ...errorResponses } },
    handler: async (request) => {
      const { accountId, datasetId } = request.params;
      validateResourceId(datasetId, 'datasetId');
      await deleteDataset(svc.db, accountId, datasetId);
      return {};
    },
  });

  app.post(`/accounts/:accountId/datasets/${ID}::upload`, {
    schema: {
      summary: 'Upload Dataset Files',
      description: `multipart/form-data with the JSONL file in the part named "file" (at most ${svc.maxUploadBytes} bytes). A valid file makes the dataset READY; an invalid one answers 400 listing the lines and rules it breaks, and nothing is stored.`,
      tags,
      operationId: 'Gateway_UploadDatasetFiles',
      consumes: ['multipart/form-data'],
      params: DatasetParams,
      response: { 200: UploadResponse, ...errorResponses },
    } as Record<string, unknown>,
    handler: async (request: FastifyRequest) => {
      const { accountId, datasetId } = request.params as { accountId: string; datasetId: string };
      return svc.upload(request, accountId, datasetId);
    },
  });

  app.post(`/accounts/:accountId/datasets/${ID}::getUploadEndpoint`, {
    schema: {
      summary: 'Get Dataset Upload Endpoint',
      description: 'A signed URL per file (one file per dataset): PUT the raw bytes to it (no API key), then call :validateUpload.',
      tags,
      operationId: 'Gateway_GetDatasetUploadEndpoint',
      params: DatasetParams,
      body: UploadEndpointBody,
      response: { 200: UploadEndpointResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, datasetId } = request.params;
      const row = await svc.load(accountId, datasetId);
      return { filenameToSignedUrls: svc.uploadEndpoint(request, accountId, row, request.body.filenameToSize, app.hearth.now().getTime()) };
    },
  });

  app.get(`/accounts/:accountId/datasets/${ID}::getDownloadEndpoint`, {
    schema: {
      summary: 'Get Dataset Download Endpoint',
      description: 'A signed URL (no API key needed, expiring) per stored file; GET it for the bytes.',
      tags,
      operationId: 'Gateway_GetDatasetDownloadEndpoint',
      params: DatasetParams,
      querystring: DownloadEndpointQuery,
      response: { 200: DownloadEndpointResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, datasetId } = request.params;
      const row = await svc.load(accountId, datasetId);
      return { filenameToSignedUrls: await svc.downloadEndpoint(request, accountId, row, app.hearth.now().getTime()) };
    },
  });

  app.post(`/accounts/:accountId/datasets/${ID}::validateUpload`, {
    schema: {
      summary: 'Validate Dataset Upload',
      description: 'Validates the stored file; a valid one makes the dataset READY with its exampleCount. 400 listing the lines and rules otherwise (the dataset stays UPLOADING).',
      tags,
      operationId: 'Gateway_ValidateDatasetUpload',
      params: DatasetParams,
      body: z.looseObject({}).optional(),
      response: { 200: Empty, ...errorResponses },
    },
    handler: async (request) => {
      await svc.validateUpload(request.params.accountId, request.params.datasetId);
      return {};
    },
  });
};

export default datasets;

/**
 * The targets of signed URLs: `PUT /v1-files/datasets/{a}/{d}/{file}?size&expires&signature` with
 * the raw bytes, and `GET` of the same form for a download. Outside `/v1` (no API key: the
 * signature is the credential), and not in the OpenAPI document (clients get these URLs from
 * :getUploadEndpoint and :getDownloadEndpoint).
 */
export const datasetUploadUrlRoutes = async (app: FastifyInstance, opts: DatasetRoutesOptions): Promise<void> => {
  const svc = new Datasets(app.hearth.db, opts, app.log);
  const signer = new UploadUrlSigner(opts.uploadUrlSecret);
  // Any content type: the handler streams the raw request body.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  const grantOf = (request: FastifyRequest, op: UploadGrant['op']): UploadGrant | { error: string } => {
    const p = request.params as { accountId: string; datasetId: string; fileName: string };
    const q = request.query as Record<string, string | undefined>;
    return signer.verify({ op, ...p, size: q.size, expires: q.expires, signature: q.signature }, app.hearth.now().getTime());
  };
  const path = `${FILES_PATH_PREFIX}/:accountId/:datasetId/:fileName`;
  app.put(path, { schema: { hide: true } as Record<string, unknown> }, async (request, reply) => {
    const grant = grantOf(request, 'upload');
    if ('error' in grant) return sendError(reply, unauthenticated(grant.error));
    await svc.put(request, grant);
    return reply.code(200).send({});
  });
  app.get(path, { schema: { hide: true } as Record<string, unknown> }, async (request, reply) => {
    const grant = grantOf(request, 'download');
    if ('error' in grant) return sendError(reply, unauthenticated(grant.error));
    const { accountId, datasetId, fileName } = grant;
    const file = (await svc.contents.files(accountId, datasetId)).find((f) => f.fileName === fileName);
    if (!file) return sendError(reply, resourceNotFound(accountId, COLLECTION, datasetId));
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', String(file.bytes))
      .header('content-disposition', `attachment; filename="${fileName.replace(/["\\]/g, '_')}"`)
      .send(Readable.from(svc.contents.read(accountId, datasetId, fileName)));
  });
};
