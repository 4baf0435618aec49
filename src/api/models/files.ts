// A model's files (issue 12): the upload flow firectl and the SDK follow, over the artifact store.
//
//   :getUploadEndpoint {filenameToSize}  → a signed, expiring PUT URL per file (src/api/files);
//                                          the names and sizes are recorded as `declared`
//   PUT <signed URL> (raw bytes)         → streamed into a NEW object `models/<a>/<m>/<upload>/<file>`
//                                          (exactly the signed size); only once it is complete is it
//                                          recorded in `models.files.uploaded`, under the row lock,
//                                          and the object it replaces deleted
//   :validateUpload                      → the kind's rules (src/artifacts/model-files.ts) over what
//                                          was uploaded; problems: the model stays UPLOADING, its
//                                          status names each missing or invalid file, 400; none:
//                                          READY, if the files did not change while being checked
//   :getDownloadEndpoint                 → a signed GET URL per uploaded file
//
// So the row only ever names complete objects, and a model is READY only with files that passed.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { and, eq } from 'drizzle-orm';
import { readRange, type ArtifactStore } from '../../artifacts/index.js';
import { MAX_FILES_PER_MODEL, checkModelFiles, describeProblems, modelFileNameProblem, type ModelFilesReport } from '../../artifacts/model-files.js';
import type { Db } from '../../db/client.js';
import { models as modelsTable, type ModelFiles, type ModelRow } from '../../db/schema/index.js';
import { FileUrlSigner, signedFileUrl, type FileGrant } from '../files/signed-url.js';
import { COLLECTION } from '../mappers/model.js';
import { resourceNameOf, resourceNotFound } from '../collections/names.js';
import { ApiError, ERROR_DOMAIN, aborted, failedPrecondition, invalidArgument } from '../wire/errors.js';
import { parseSafeInt64 } from '../wire/int64.js';
import { exactBody } from '../files/exact-body.js';

export interface ModelFileOptions {
  /** HMAC secret of signed URLs (the datasets' one: one scheme); default random per process. */
  uploadUrlSecret?: string | Buffer;
  uploadUrlTtlMs?: number;
  /** Base of signed URLs (default: the request's origin). */
  publicBaseUrl?: string;
  /** Largest single file (default 256 GiB). */
  maxFileBytes?: number;
}

export const DEFAULT_MAX_MODEL_FILE_BYTES = 256 * 1024 ** 3;

const EMPTY_FILES: ModelFiles = { declared: {}, uploaded: {} };

/** The store prefix of a model's objects. */
export const modelPrefix = (accountId: string, modelId: string): string => `models/${accountId}/${modelId}/`;

function alreadyReady(accountId: string, modelId: string): ApiError {
  return failedPrecondition(`model "${resourceNameOf(accountId, COLLECTION, modelId)}" is READY; its files cannot be replaced (create a new model)`, 'ERR_MODEL_READY');
}

/** 400 naming every file problem (BadRequest field violations `files["<name>"]`). */
export function invalidModelFiles(accountId: string, modelId: string, report: ModelFilesReport): ApiError {
  return new ApiError('INVALID_ARGUMENT', `model "${resourceNameOf(accountId, COLLECTION, modelId)}" files are not valid: ${describeProblems(report.problems)}`, [
    {
      '@type': 'type.googleapis.com/google.rpc.BadRequest',
      fieldViolations: report.problems.map((p) => ({ field: `files["${p.file}"]`, description: p.description, reason: p.reason })),
    },
    { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ERR_INVALID_MODEL_FILES', domain: ERROR_DOMAIN, metadata: { files: report.problems.map((p) => p.file).join(',').slice(0, 1000) } },
  ]);
}

export class ModelFilesService {
  readonly maxFileBytes: number;
  private readonly signer: FileUrlSigner;

  constructor(
    readonly db: Db,
    readonly store: ArtifactStore,
    readonly opts: ModelFileOptions,
    readonly log: FastifyBaseLogger,
  ) {
    this.maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_MODEL_FILE_BYTES;
    this.signer = new FileUrlSigner(opts.uploadUrlSecret);
  }

  /** Runs `fn` on the model row locked FOR UPDATE (404 when it is gone). */
  private async locked<T>(accountId: string, modelId: string, fn: (tx: Db, row: ModelRow) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .select()
        .from(modelsTable)
        .where(and(eq(modelsTable.accountId, accountId), eq(modelsTable.modelId, modelId)))
        .for('update');
      if (!row) throw resourceNotFound(accountId, COLLECTION, modelId);
      return fn(tx as unknown as Db, row);
    });
  }

  private async setFiles(tx: Db, row: ModelRow, patch: Partial<Pick<ModelRow, 'files' | 'state' | 'status'>>, now: Date): Promise<void> {
    await tx
      .update(modelsTable)
      .set({ ...patch, updateTime: now })
      .where(and(eq(modelsTable.accountId, row.accountId), eq(modelsTable.modelId, row.modelId)));
  }

  signedUrl(origin: string, g: Omit<FileGrant, 'expires' | 'collection'>, now: number): string {
    return signedFileUrl(this.signer, this.opts.publicBaseUrl ?? origin, { ...g, collection: 'models' }, { now, ttlMs: this.opts.uploadUrlTtlMs });
  }

  /** `:getUploadEndpoint`: checks the names and sizes, records them as declared, signs a PUT URL per file. */
  async uploadEndpoint(origin: string, model: { accountId: string; modelId: string }, filenameToSize: Record<string, string | number>, now: Date): Promise<Record<string, string>> {
    const { accountId, modelId } = model;
    const declared = this.declared(filenameToSize);
    await this.locked(accountId, modelId, async (tx, row) => {
      if (row.state === 'READY') throw alreadyReady(accountId, modelId);
      const files = row.files ?? EMPTY_FILES;
      await this.setFiles(tx, row, { files: { ...files, declared } }, now);
    });
    const at = now.getTime();
    return Object.fromEntries(Object.entries(declared).map(([fileName, size]) => [fileName, this.signedUrl(origin, { op: 'upload', accountId, resourceId: modelId, fileName, size }, at)]));
  }

  /** `filenameToSize` checked: names (relative paths), sizes (int64, ≤ maxFileBytes), how many. */
  private declared(filenameToSize: Record<string, string | number>): Record<string, number> {
    const entries = Object.entries(filenameToSize);
    if (entries.length === 0) throw invalidArgument('filenameToSize', 'must name at least one file', 'REQUIRED');
    if (entries.length > MAX_FILES_PER_MODEL) throw invalidArgument('filenameToSize', `names ${entries.length} files; at most ${MAX_FILES_PER_MODEL}`, 'COUNT');
    const declared: Record<string, number> = {};
    for (const [name, rawSize] of entries) {
      const field = `filenameToSize["${name.slice(0, 80)}"]`;
      const why = modelFileNameProblem(name);
      if (why) throw invalidArgument(field, `is not a valid file name: it ${why}`, 'FORMAT');
      const size = parseSafeInt64(rawSize, field, { min: 0 });
      if (size > this.maxFileBytes) throw invalidArgument(field, `must be at most ${this.maxFileBytes} bytes`, 'FILE_TOO_LARGE');
      declared[name] = size;
    }
    return declared;
  }

  /** A signed PUT: the body (exactly `size` bytes) becomes the model's file `fileName`. */
  async put(grant: { accountId: string; resourceId: string; fileName: string; size: number }, body: { contentLength: string | undefined; bytes: AsyncIterable<Buffer> }, now: () => Date): Promise<{ size: number }> {
    const { accountId, resourceId: modelId, fileName, size } = grant;
    const [row] = await this.db.select().from(modelsTable).where(and(eq(modelsTable.accountId, accountId), eq(modelsTable.modelId, modelId)));
    if (!row) throw resourceNotFound(accountId, COLLECTION, modelId);
    if (row.state === 'READY') throw alreadyReady(accountId, modelId);
    const bytes = exactBody(body, size);
    const key = `${modelPrefix(accountId, modelId)}${randomUUID()}/${fileName}`;
    await this.store.put(key, bytes);
    let replaced: string | undefined;
    try {
      await this.locked(accountId, modelId, async (tx, cur) => {
        if (cur.state === 'READY') throw alreadyReady(accountId, modelId);
        const files = cur.files ?? EMPTY_FILES;
        replaced = files.uploaded[fileName]?.key;
        await this.setFiles(tx, cur, { files: { ...files, uploaded: { ...files.uploaded, [fileName]: { key, size } } }, status: { code: 'OK' } }, now());
      });
    } catch (e) {
      // Not recorded: the object is nobody's.
      await this.store.delete(key).catch((err: unknown) => this.log.error({ err, key }, 'removing an unrecorded model file failed'));
      throw e;
    }
    if (replaced) await this.store.delete(replaced).catch((err: unknown) => this.log.warn({ err, key: replaced }, 'removing a replaced model file failed'));
    return { size };
  }

  /**
   * `:validateUpload`: the kind's rules over the uploaded files. Problems keep the model UPLOADING
   * with a status naming them (and answer 400); none make it READY.
   */
  async validate(accountId: string, modelId: string, now: () => Date): Promise<{ warnings: string[] }> {
    const [row] = await this.db.select().from(modelsTable).where(and(eq(modelsTable.accountId, accountId), eq(modelsTable.modelId, modelId)));
    if (!row) throw resourceNotFound(accountId, COLLECTION, modelId);
    if (row.state === 'READY') return { warnings: [] };
    const files = row.files ?? EMPTY_FILES;
    const sizes = new Map(Object.entries(files.uploaded).map(([name, f]) => [name, f.size]));
    const peft = row.spec.peftDetails as { r?: number; targetModules?: string[] } | undefined;
    const report = await checkModelFiles(
      sizes,
      async (name, range) => {
        const key = files.uploaded[name]!.key;
        const buf = await readRange(this.store, key, range);
        if (!buf) throw aborted(`model file "${name}" was replaced while it was being validated; call :validateUpload again`);
        return buf;
      },
      { kind: row.kind, declared: files.declared, ...(peft ? { peft: { ...(peft.r !== undefined ? { r: peft.r } : {}), ...(peft.targetModules ? { targetModules: peft.targetModules } : {}) } } : {}) },
    );
    await this.locked(accountId, modelId, async (tx, cur) => {
      if (cur.state === 'READY') return;
      // Only the files that were checked may become READY (an upload may have replaced one since).
      const same = JSON.stringify(cur.files?.uploaded ?? {}) === JSON.stringify(files.uploaded);
      if (!same) throw aborted('the model\'s files changed while they were being validated; call :validateUpload again');
      if (report.problems.length > 0) {
        await this.setFiles(tx, cur, { status: { code: 'INVALID_ARGUMENT', message: `files not valid: ${describeProblems(report.problems)}`.slice(0, 4000) } }, now());
      } else {
        await this.setFiles(tx, cur, { state: 'READY', status: { code: 'OK' } }, now());
      }
    });
    if (report.problems.length > 0) throw invalidModelFiles(accountId, modelId, report);
    return { warnings: report.warnings };
  }

  /** `:getDownloadEndpoint`: a signed GET URL per uploaded file. */
  downloadEndpoint(origin: string, row: ModelRow, now: Date): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [fileName, f] of Object.entries(row.files?.uploaded ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
      out[fileName] = this.signedUrl(origin, { op: 'download', accountId: row.accountId, resourceId: row.modelId, fileName, size: f.size }, now.getTime());
    }
    return out;
  }

  /** A signed GET: the file's bytes, or undefined when the model or file is gone. */
  async open(grant: { accountId: string; resourceId: string; fileName: string }): Promise<{ size: number; body: Readable } | undefined> {
    const [row] = await this.db.select().from(modelsTable).where(and(eq(modelsTable.accountId, grant.accountId), eq(modelsTable.modelId, grant.resourceId)));
    const f = row?.files?.uploaded[grant.fileName];
    if (!f) return undefined;
    const body = await this.store.get(f.key);
    return body ? { size: f.size, body } : undefined;
  }

  /**
   * After the model row is deleted: the objects it recorded go too (best effort; logged). Only
   * recorded keys, not the whole prefix: a model created again under the same id right away may
   * already be uploading under it. (An upload still arriving finds no row and removes its object.)
   */
  async removeAll(row: ModelRow): Promise<void> {
    for (const f of Object.values(row.files?.uploaded ?? {})) {
      await this.store.delete(f.key).catch((err: unknown) => this.log.error({ err, key: f.key }, 'removing a deleted model\'s file failed'));
    }
  }
}
