// Datasets over HTTP (PostgreSQL-backed; the service is src/api/datasets/service.ts): metadata
// CRUD, and the upload flows users follow with firectl and the SDK:
//
// - `POST …/datasets/{id}:upload` — multipart/form-data with a `file` part: streamed, validated line
//   by line and stored in chunks; a valid file makes the dataset READY with its exampleCount, a
//   bad one answers 400 naming the lines and rules and leaves nothing stored.
// - `POST …/datasets/{id}:getUploadEndpoint` `{filenameToSize}` → `{filenameToSignedUrls}`: a URL
//   back at Hearth, HMAC-signed, expiring, bound to the dataset, file name and size; a `PUT` of the
//   raw bytes to it stores the file (no API key: the signature is the credential). Then
//   `POST …:validateUpload` validates what was stored and flips the dataset to READY.
// - `GET …/datasets/{id}:getDownloadEndpoint` → `{filenameToSignedUrls}`: signed URLs of the same
//   kind; a `GET` of one returns the stored file.
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import multipart from '@fastify/multipart';
import { z } from 'zod';
import { Datasets, malformedMultipart, type DatasetRoutesOptions, type UploadStream } from '../datasets/service.js';
import { FileUrlSigner, filesPathPrefix, type FileGrant } from '../files/signed-url.js';
import { getDataset } from '../../db/repositories/datasets.js';
import { COLLECTION, CreateDatasetBody, DatasetBody, DatasetResponse, toWire } from '../mappers/dataset.js';
import { resourceNotFound } from '../collections/names.js';
import { sendError } from '../plugins/errors.js';
import { invalidArgument, unauthenticated } from '../wire/errors.js';
import { AccountParams, Empty, ListQuery, ReadMaskQuery, errorResponses, listResponseSchema, masked, UpdateMaskQuery } from './common.js';

export { DEFAULT_MAX_UPLOAD_BYTES, invalidDatasetFile, type DatasetRoutesOptions } from '../datasets/service.js';

const DatasetParams = AccountParams.extend({ datasetId: z.string().describe('The dataset id.') });
/** `{id}:verb` paths: the id may not contain ':' (fastify regex parameter). */
const ID = ':datasetId(^[^:]+)';

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


/** The request's own origin: the base of signed URLs unless `publicBaseUrl` is configured. */
function originOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/** The multipart part named `file` (400 for another content type, no part, or another name). */
async function filepart(request: FastifyRequest, maxBytes: number): Promise<{ filename: string; file: UploadStream }> {
  if (!request.isMultipart()) throw invalidArgument('Content-Type', 'must be multipart/form-data with the dataset in a "file" part', 'MEDIA_TYPE');
  const part = await request.file({ limits: { fileSize: maxBytes, files: 1, fields: 10 }, throwFileSizeLimit: false }).catch((e: unknown) => {
    throw malformedMultipart(e);
  });
  if (!part) throw invalidArgument('file', 'is required: send the dataset as the multipart part named "file"', 'REQUIRED');
  if (part.fieldname !== 'file') {
    part.file.resume();
    throw invalidArgument('file', `is required: the multipart part is named "${part.fieldname.slice(0, 60)}", not "file"`, 'REQUIRED');
  }
  return { filename: part.filename, file: part.file };
}

const tags = ['Datasets'];

const datasets: FastifyPluginAsyncZod<DatasetRoutesOptions> = async (app, opts) => {
  const svc = new Datasets(app.hearth.db, opts, app.log, app.hearth.artifacts);
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
    handler: async (request) => svc.list(request.params.accountId, request.query, app.hearth.pageTokens),
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
      await svc.delete(request.params.accountId, request.params.datasetId);
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
      await svc.uploadTarget(accountId, datasetId);
      const part = await filepart(request, svc.maxUploadBytes);
      return svc.upload(accountId, datasetId, part.filename, part.file);
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
      return { filenameToSignedUrls: svc.uploadEndpoint(originOf(request), accountId, row, request.body.filenameToSize, app.hearth.now().getTime()) };
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
      return { filenameToSignedUrls: await svc.downloadEndpoint(originOf(request), accountId, row, app.hearth.now().getTime()) };
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
  const svc = new Datasets(app.hearth.db, opts, app.log, app.hearth.artifacts);
  const signer = new FileUrlSigner(opts.uploadUrlSecret);
  // Any content type: the handler streams the raw request body.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  const grantOf = (request: FastifyRequest, op: FileGrant['op']): FileGrant | { error: string } => {
    const p = request.params as { accountId: string; datasetId: string; fileName: string };
    const q = request.query as Record<string, string | undefined>;
    return signer.verify(
      { op, collection: 'datasets', accountId: p.accountId, resourceId: p.datasetId, fileName: p.fileName, size: q.size, expires: q.expires, signature: q.signature },
      app.hearth.now().getTime(),
    );
  };
  const path = `${filesPathPrefix('datasets')}/:accountId/:datasetId/:fileName`;
  app.put(path, { schema: { hide: true } as Record<string, unknown> }, async (request, reply) => {
    const grant = grantOf(request, 'upload');
    if ('error' in grant) return sendError(reply, unauthenticated(grant.error));
    await svc.put({ accountId: grant.accountId, datasetId: grant.resourceId, fileName: grant.fileName, size: grant.size }, { contentLength: request.headers['content-length'], bytes: request.raw as AsyncIterable<Buffer> });
    return reply.code(200).send({});
  });
  app.get(path, { schema: { hide: true } as Record<string, unknown> }, async (request, reply) => {
    const grant = grantOf(request, 'download');
    if ('error' in grant) return sendError(reply, unauthenticated(grant.error));
    const { accountId, resourceId: datasetId, fileName } = grant;
    const row = await getDataset(svc.db, accountId, datasetId);
    const file = row ? (await svc.files.files(row)).find((f) => f.fileName === fileName) : undefined;
    const body = row && file ? await svc.files.open(row, fileName) : undefined;
    if (!file || !body) return sendError(reply, resourceNotFound(accountId, COLLECTION, datasetId));
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', String(file.bytes))
      .header('content-disposition', `attachment; filename="${fileName.replace(/["\\]/g, '_')}"`)
      .send(Readable.from(body));
  });
};
