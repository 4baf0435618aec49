// The Datasets service (metadata in PostgreSQL, bytes in the artifact store): CRUD and the upload
// flows users follow with firectl and the SDK — multipart `:upload` (validated while streaming,
// src/api/datasets/jsonl.ts), signed upload/download URLs (../files/signed-url.ts) with
// `:validateUpload`, and the file itself (files.ts). HTTP (multipart parsing, the signed-URL
// routes) is in src/api/routes/datasets.ts.
import type { FastifyBaseLogger } from 'fastify';
import { and, eq } from 'drizzle-orm';
import type { z } from 'zod';
import type { ArtifactStore } from '../../artifacts/index.js';
import type { Db } from '../../db/client.js';
import { createDataset, deleteDataset, getDataset, listDatasets, updateDataset, type DatasetPatch } from '../../db/repositories/datasets.js';
import { datasets as datasetsTable, type DatasetRow } from '../../db/schema/index.js';
import { COLLECTION, OUTPUT_ONLY_FIELDS, SOURCE_FIELDS, WRITABLE_FIELDS, checkSourceOneof, fieldsFromWire, patchSpec, toWire, type CreateDatasetBody } from '../mappers/dataset.js';
import { resourceNameOf, resourceNotFound } from '../collections/names.js';
import { listResponse, masked, type ListQuery } from '../routes/common.js';
import { ApiError, ERROR_DOMAIN, aborted, failedPrecondition, invalidArgument } from '../wire/errors.js';
import { updatePaths, type UpdateMaskRules } from '../wire/field-mask.js';
import { parseSafeInt64 } from '../wire/int64.js';
import { listPage, type PageTokenCodec } from '../wire/pagination.js';
import { parseReference, validateResourceId, type ReferenceField } from '../wire/resource-names.js';
import { JsonlValidator, formatIssue, type JsonlSummary, type JsonlValidationOptions } from './jsonl.js';
import { DatasetFiles, type Staged } from './files.js';
import { sanitizeFileName } from './storage.js';
import { FileUrlSigner, signedFileUrl, type FileGrant } from '../files/signed-url.js';
import { exactBody } from '../files/exact-body.js';

const MASK_RULES: UpdateMaskRules = { writable: WRITABLE_FIELDS, outputOnly: OUTPUT_ONLY_FIELDS, atomic: [...SOURCE_FIELDS, 'evalProtocol'] };

/** `sourceDatasetId`: an id or `accounts/{a}/datasets/{d}` of the caller's account; another account's reads as missing (404). */
export const SOURCE_DATASET: ReferenceField = { field: 'sourceDatasetId', collection: 'datasets', resourceType: 'dataset', stored: 'id', missing: 'not-found' };

export const DEFAULT_MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;

export interface DatasetRoutesOptions extends JsonlValidationOptions {
  /** Largest file accepted by `:upload` and signed URLs (default 1 GiB). */
  maxUploadBytes?: number;
  /** HMAC secret of signed upload URLs; give every replica the same one (default: random per process). */
  uploadUrlSecret?: string | Buffer;
  uploadUrlTtlMs?: number;
  /** Base of signed URLs, e.g. `https://hearth.example.com` (default: the request's own origin). */
  publicBaseUrl?: string;
}

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
export function malformedMultipart(e: unknown): unknown {
  if (e instanceof ApiError) return e;
  const message = e instanceof Error ? e.message.slice(0, 200) : String(e);
  return invalidArgument('(body)', `is not a valid multipart/form-data body: ${message}`, 'MALFORMED_MULTIPART');
}

function fileTooLarge(limit: number): ApiError {
  return invalidArgument('file', `is larger than the upload limit of ${limit} bytes`, 'FILE_TOO_LARGE');
}

/** An uploaded file as it arrives: its bytes, and whether the size limit cut them short. */
export type UploadStream = AsyncIterable<Buffer> & { truncated?: boolean };

export class Datasets {
  readonly files: DatasetFiles;
  readonly maxUploadBytes: number;

  constructor(
    readonly db: Db,
    readonly opts: DatasetRoutesOptions,
    readonly log: FastifyBaseLogger,
    store: ArtifactStore,
  ) {
    this.files = new DatasetFiles(db, store, log);
    this.maxUploadBytes = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  }

  async load(accountId: string, id: string): Promise<DatasetRow> {
    validateResourceId(id, 'datasetId');
    const row = await getDataset(this.db, accountId, id);
    if (!row) throw resourceNotFound(accountId, COLLECTION, id);
    return row;
  }

  /** The account's datasets, one page (`codec`: the API's page tokens). */
  async list(accountId: string, q: z.infer<typeof ListQuery>, codec: PageTokenCodec): Promise<Record<string, unknown>> {
    const all = (await listDatasets(this.db, accountId)).map(toWire);
    const page = listPage(all, q, { binding: { parent: `accounts/${accountId}/datasets` }, codec, defaultOrderBy: 'name' });
    return listResponse('datasets', page.items.map((d) => masked(d, q.readMask)), page);
  }

  /** Deletes the dataset, then its stored file. */
  async delete(accountId: string, id: string): Promise<void> {
    const row = await this.load(accountId, id);
    await deleteDataset(this.db, accountId, id);
    await this.files.removeFor(row);
  }

  async create(accountId: string, body: z.infer<typeof CreateDatasetBody>, createdBy: string): Promise<DatasetRow> {
    const id = validateResourceId(body.datasetId, 'datasetId');
    const dataset = body.dataset as Record<string, unknown>;
    checkSourceOneof(dataset, 'dataset.');
    const f = fieldsFromWire(dataset, 'dataset.');
    // Bad input for Hearth, not a server fault: a 400 naming the field (it answered 501; the REST fuzz counts every 5xx).
    if (body.filter !== undefined && body.filter.trim() !== '') throw invalidArgument('filter', 'is not supported by Hearth: a dataset is copied from its source whole (leave filter empty)', 'UNSUPPORTED');
    if (body.sourceDatasetId === undefined || body.sourceDatasetId === '') {
      const spec = SOURCE_FIELDS.some((k) => f.spec[k] !== undefined) ? f.spec : { ...f.spec, userUploaded: {} };
      return createDataset(this.db, { accountId, datasetId: id, displayName: f.displayName ?? '', format: f.format ?? 'FORMAT_UNSPECIFIED', exampleCount: f.exampleCount ?? null, spec, createdBy });
    }
    return this.copy(accountId, id, body.sourceDatasetId, f, createdBy);
  }

  /** A new dataset with a READY dataset's content (`sourceDatasetId` without a filter). */
  async copy(accountId: string, id: string, sourceRef: string, f: ReturnType<typeof fieldsFromWire>, createdBy: string): Promise<DatasetRow> {
    const sourceId = validateResourceId(parseReference(sourceRef, SOURCE_DATASET, accountId).stored, 'sourceDatasetId');
    const source = await getDataset(this.db, accountId, sourceId);
    if (!source) throw resourceNotFound(accountId, COLLECTION, sourceId);
    if (source.state !== 'READY') throw failedPrecondition(`source dataset "${resourceNameOf(accountId, COLLECTION, sourceId)}" is ${source.state}; only READY datasets can be copied`);
    const hasSource = SOURCE_FIELDS.some((k) => f.spec[k] !== undefined);
    const spec = { ...f.spec, ...(hasSource ? {} : { transformed: { sourceDatasetId: sourceId, originalFormat: source.format } }), averageTurnCount: source.spec.averageTurnCount };
    // The copy's object first; it is removed again if the row cannot be created (e.g. the id is taken).
    const copied = await this.files.copyFor(source, id);
    try {
      return await createDataset(this.db, {
        accountId,
        datasetId: id,
        displayName: f.displayName ?? source.displayName,
        format: f.format ?? source.format,
        state: 'READY',
        exampleCount: source.exampleCount,
        estimatedTokenCount: source.estimatedTokenCount,
        spec,
        storageUri: copied?.storageUri ?? null,
        createdBy,
      });
    } catch (e) {
      if (copied) await this.files.store.delete(copied.key).catch((err: unknown) => this.log.error({ err, key: copied.key }, 'removing an unused dataset copy failed'));
      throw e;
    }
  }

  async update(accountId: string, id: string, body: Record<string, unknown>, updateMask: string | undefined): Promise<DatasetRow> {
    const mask = updatePaths(body, updateMask, MASK_RULES);
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
  async commit(staged: Staged, summary: JsonlSummary | undefined): Promise<DatasetRow> {
    const { accountId, datasetId } = staged;
    return this.files.commit(staged, async (tx, row) => {
      if (!row) throw resourceNotFound(accountId, COLLECTION, datasetId);
      if (row.state === 'READY') throw alreadyReady(accountId, datasetId);
      const patch: DatasetPatch = { status: { code: 'OK' } };
      if (summary) Object.assign(patch, readyPatch(row, summary));
      return updateDataset(tx, accountId, datasetId, patch);
    });
  }

  /** A dataset that can take an upload: it exists and is not READY. */
  async uploadTarget(accountId: string, id: string): Promise<DatasetRow> {
    const row = await this.load(accountId, id);
    if (row.state === 'READY') throw alreadyReady(accountId, id);
    return row;
  }

  /**
   * `:upload`: the file (the multipart `file` part; `uploadTarget` checked the dataset), streamed
   * through the validator into a staged file that becomes the content when it is valid.
   */
  async upload(accountId: string, id: string, rawFileName: string, file: UploadStream): Promise<Record<string, unknown>> {
    const fileName = sanitizeFileName(rawFileName);
    const validator = this.validator();
    const maxUploadBytes = this.maxUploadBytes;
    const maxErrors = this.opts.maxErrors ?? 20;
    let summary: JsonlSummary | undefined;
    // The file as it goes into the store, through the validator. Once it is known to be bad,
    // nothing more is passed on; the rest is still read (and checked up to the error cap) so the
    // client gets every error and a clean response — and the error, thrown inside the body, makes
    // the store abandon the object.
    async function* validated(): AsyncGenerator<Buffer> {
      const chunks = file[Symbol.asyncIterator]();
      for (;;) {
        // Errors of the stream itself (a truncated or malformed body) are the client's.
        const next = await chunks.next().catch((e: unknown) => {
          throw malformedMultipart(e);
        });
        if (next.done) break;
        validator.push(next.value);
        if (!validator.failed) yield next.value;
      }
      if (file.truncated) throw fileTooLarge(maxUploadBytes);
      summary = validator.end();
      if (summary.issueCount > 0) throw invalidDatasetFile(fileName, summary, maxErrors);
    }
    const staged = await this.files.stage(accountId, id, fileName, validated());
    const done = await this.commit(staged, summary);
    return { id, bytes: summary!.bytes, created_at: Math.floor(done.updateTime.getTime() / 1000), filename: fileName, object: 'file', purpose: 'fine-tune' };
  }

  /** A signed `PUT`: the raw body (exactly the signed size) stored as the dataset's (unvalidated) file. */
  async put(grant: { accountId: string; datasetId: string; fileName: string; size: number }, body: { contentLength: string | undefined; bytes: AsyncIterable<Buffer> }): Promise<void> {
    const { accountId, datasetId, fileName, size } = grant;
    const row = await getDataset(this.db, accountId, datasetId);
    if (!row) throw resourceNotFound(accountId, COLLECTION, datasetId);
    if (row.state === 'READY') throw alreadyReady(accountId, datasetId);
    const bytes = exactBody(body, size);
    await this.commit(await this.files.stage(accountId, datasetId, fileName, bytes), undefined);
  }

  /** `:validateUpload`: validates the stored file and makes the dataset READY. */
  async validateUpload(accountId: string, id: string): Promise<void> {
    const row = await this.load(accountId, id);
    if (row.state === 'READY') return;
    const file = (await this.files.files(row))[0];
    if (!file) throw failedPrecondition(`dataset "${resourceNameOf(accountId, COLLECTION, id)}" has no uploaded file; upload one first (:upload, or a PUT to the URL :getUploadEndpoint returns)`, 'ERR_NOTHING_UPLOADED');
    const validator = this.validator();
    const body = await this.files.open(row, file.fileName);
    if (!body) throw aborted('the dataset file changed while it was being validated; call :validateUpload again');
    for await (const buf of body as AsyncIterable<Buffer>) validator.push(buf);
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
      // Every upload is a new object (a new storageUri): the same storageUri is the same bytes.
      if (locked.storageUri !== row.storageUri) {
        throw aborted('the dataset file changed while it was being validated; call :validateUpload again');
      }
      await updateDataset(tx as unknown as Db, accountId, id, readyPatch(locked, summary));
    });
  }

  /** `:getUploadEndpoint`: a signed upload URL for the one file (`origin`: the request's, the default base). */
  uploadEndpoint(origin: string, accountId: string, row: DatasetRow, filenameToSize: Record<string, string | number>, now: number): Record<string, string> {
    if (row.state === 'READY') throw alreadyReady(accountId, row.datasetId);
    const entries = Object.entries(filenameToSize);
    if (entries.length !== 1) throw invalidArgument('filenameToSize', `must name exactly one file (a Hearth dataset holds one file); it names ${entries.length}`, 'COUNT');
    const [[rawName, rawSize]] = entries as [[string, string | number]];
    const fileName = sanitizeFileName(rawName);
    if (fileName !== rawName) throw invalidArgument(`filenameToSize["${rawName.slice(0, 60)}"]`, 'must be a plain file name (no "/", no control characters)', 'FORMAT');
    const size = parseSafeInt64(rawSize, `filenameToSize["${fileName}"]`, { min: 1 });
    if (size > this.maxUploadBytes) throw invalidArgument(`filenameToSize["${fileName}"]`, `must be at most the upload limit of ${this.maxUploadBytes} bytes`, 'FILE_TOO_LARGE');
    return { [fileName]: this.signedUrl(origin, { op: 'upload', collection: 'datasets', accountId, resourceId: row.datasetId, fileName, size }, now) };
  }

  /** Signed download URLs of the stored file (none before anything was uploaded). */
  async downloadEndpoint(origin: string, accountId: string, row: DatasetRow, now: number): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const f of await this.files.files(row)) {
      out[f.fileName] = this.signedUrl(origin, { op: 'download', collection: 'datasets', accountId, resourceId: row.datasetId, fileName: f.fileName, size: f.bytes }, now);
    }
    return out;
  }

  signedUrl(origin: string, g: Omit<FileGrant, 'expires'>, now: number): string {
    return signedFileUrl(new FileUrlSigner(this.opts.uploadUrlSecret), this.opts.publicBaseUrl ?? origin, g, { now, ttlMs: this.opts.uploadUrlTtlMs });
  }
}

function alreadyReady(accountId: string, id: string): ApiError {
  return failedPrecondition(`dataset "${resourceNameOf(accountId, COLLECTION, id)}" is READY; its content cannot be replaced (create a new dataset)`, 'ERR_DATASET_READY');
}

function readyPatch(row: DatasetRow, s: JsonlSummary): DatasetPatch {
  return {
    state: 'READY',
    status: { code: 'OK' },
    exampleCount: BigInt(s.examples),
    estimatedTokenCount: BigInt(s.estimatedTokens),
    format: row.format === 'FORMAT_UNSPECIFIED' ? 'CHAT' : row.format,
    spec: { ...row.spec, averageTurnCount: Math.round(s.averageTurnCount * 1000) / 1000 },
  };
}

