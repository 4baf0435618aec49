// The `model-files` sidecar of a model-server pod (hearth mode `model-files`, src/modes/model-files.ts):
// puts an uploaded model's files into the pod's model mount, where the model server loads them
// from (vLLM's `lora_path` = `/mnt/models/<account>/<model>`, src/fleet/lora.ts). It shares an
// emptyDir at /mnt/models with the model-server container (controllers/deployment/children/workload.ts).
//
//   PUT    /v1/model-files/{account}/{model}  {"files": {"<name>": {"url", "size"}}}
//          → 200 {"path", "files": {name: size}, "downloaded": bool}
//          Already there with those sizes: nothing is fetched. Else every file is streamed from its
//          signed download URL (src/artifacts/signed-url.ts, what `:getDownloadEndpoint` hands out)
//          into a staging directory, each checked for exactly its size, then the directory is
//          renamed into place: the model server never sees a half-written model.
//   DELETE /v1/model-files/{account}/{model}  → 200 {} (gone, or was not there)
//   GET    /v1/model-files/{account}/{model}  → 200 {"path", "files"} | 404
//   GET    /healthz                           → 200
//
// What a caller can make it do is narrow: the ids must be resource ids (no path can leave the
// root), file names must be model file names (src/artifacts/model-files.ts), and every URL must be
// the Hearth API's signed download URL (`sourceUrl`) of exactly that account, model, file and size,
// so the only thing that can land at a model's path is that model's own uploaded files. Errors are
// `{"error": {"code", "message"}}`: 400 for a bad request (naming the field), 502 when the source
// refused a file or sent the wrong number of bytes, 503 when the source could not be reached.
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { isResourceId } from '../crds/common.js';
import { MAX_FILES_PER_MODEL, modelFileNameProblem } from './model-files.js';
import { filesPathPrefix } from './signed-url.js';

export interface ModelFilesServerOptions {
  /** The model mount as this process sees it (/mnt/models in the pod). */
  root: string;
  /** The base URL of the Hearth API whose signed download URLs are accepted (no other source is). */
  sourceUrl: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** The model mount as the model server sees it, for `path` in answers (default `root`). */
  mountPath?: string;
  /** Time for one PUT's downloads (default 30 min). */
  downloadTimeoutMs?: number;
}

export interface ModelFilesServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface FileSource {
  url: string;
  size: number;
}

const ROUTE = /^\/v1\/model-files\/([^/]+)\/([^/]+)$/;
const MAX_BODY_BYTES = 1024 * 1024;
const STAGING = '.staging';
const DEFAULT_DOWNLOAD_TIMEOUT_MS = 30 * 60_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const badRequest = (message: string): HttpError => new HttpError(400, 'INVALID_ARGUMENT', message);

/** `account` and `model` as resource ids; anything else (`..`, `a/b`, `%2e%2e`) is refused. */
export function checkModelIds(account: string, model: string): void {
  if (!isResourceId(account)) throw badRequest(`account "${account.slice(0, 80)}" must be a resource id: 1-63 characters of a-z, 0-9 and '-', starting with a letter`);
  if (!isResourceId(model)) throw badRequest(`model "${model.slice(0, 80)}" must be a resource id: 1-63 characters of a-z, 0-9 and '-', starting with a letter`);
}

/**
 * The files of a PUT body, each URL checked to be `sourceUrl`'s signed download URL of exactly this
 * account, model, file and size.
 */
export function parseFileSources(body: unknown, source: URL, account: string, model: string): Map<string, FileSource> {
  const files = (body as { files?: unknown } | null)?.files;
  if (typeof files !== 'object' || files === null || Array.isArray(files)) throw badRequest('files: required, an object of file name → {url, size}');
  const entries = Object.entries(files as Record<string, unknown>);
  if (entries.length === 0) throw badRequest('files: at least one file is required');
  if (entries.length > MAX_FILES_PER_MODEL) throw badRequest(`files: at most ${MAX_FILES_PER_MODEL} files`);
  const dir = `${source.pathname.replace(/\/+$/, '')}${filesPathPrefix('models')}/${encodeURIComponent(account)}/${encodeURIComponent(model)}`;
  return new Map(entries.map(([name, v]) => [name, fileSource(name, v, source.origin, dir)]));
}

const isSize = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** One entry: a model file name, a size, and the signed URL of exactly that file (`<origin><dir>/<name>?size=<size>…`). */
function fileSource(name: string, v: unknown, origin: string, dir: string): FileSource {
  const field = `files["${name.slice(0, 200)}"]`;
  const nameProblem = modelFileNameProblem(name);
  if (nameProblem) throw badRequest(`${field}: the file name ${nameProblem}`);
  const { url, size } = (v ?? {}) as { url?: unknown; size?: unknown };
  if (!isSize(size)) throw badRequest(`${field}.size: required, a non-negative integer`);
  if (typeof url !== 'string' || !URL.canParse(url)) throw badRequest(`${field}.url: required, an absolute URL`);
  const u = new URL(url);
  const want = `${dir}/${encodeURIComponent(name)}`;
  if (u.origin !== origin || u.pathname !== want) throw badRequest(`${field}.url: must be the Hearth API's signed download URL of this file (${origin}${want})`);
  if (u.searchParams.get('size') !== String(size)) throw badRequest(`${field}.url: is signed for another size than ${size}`);
  return { url, size };
}

/** Every file of `dir` (relative names, `/`-separated) → size; undefined when `dir` does not exist. */
async function listFiles(dir: string): Promise<Map<string, number> | undefined> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (!entries) return undefined;
  const out = new Map<string, number>();
  for (const e of entries) {
    if (!e.isFile()) continue;
    const full = join(e.parentPath, e.name);
    out.set(full.slice(dir.length + 1).split('\\').join('/'), (await stat(full)).size);
  }
  return out;
}

/** Counts bytes through; fails as soon as more than `size` arrive. */
function sizeGuard(name: string, size: number, seen: { n: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen.n += chunk.length;
      if (seen.n > size) cb(new HttpError(502, 'SIZE_MISMATCH', `${name}: the source sent more than the ${size} bytes expected`));
      else cb(null, chunk);
    },
  });
}

/** One file from its signed URL into `dest`, exactly `size` bytes. */
async function download(name: string, src: FileSource, dest: string, signal: AbortSignal): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  const res = await fetch(src.url, { signal, redirect: 'error' }).catch((e: unknown) => {
    const err = e as { message?: string; cause?: { code?: string } };
    throw new HttpError(503, 'SOURCE_UNREACHABLE', `${name}: the source is unreachable (${err.cause?.code ?? err.message ?? String(e)})`);
  });
  if (!res.ok || !res.body) {
    const text = (await res.text().catch(() => '')).slice(0, 300);
    throw new HttpError(502, 'SOURCE_REFUSED', `${name}: the source answered ${res.status}${text ? `: ${text}` : ''}`);
  }
  const declared = res.headers.get('content-length');
  if (declared !== null && Number(declared) !== src.size) throw new HttpError(502, 'SIZE_MISMATCH', `${name}: the source announces ${declared} bytes; ${src.size} were expected`);
  const seen = { n: 0 };
  await pipeline(Readable.fromWeb(res.body as ReadableStream<Uint8Array>), sizeGuard(name, src.size, seen), createWriteStream(dest, { flags: 'wx' }), { signal });
  if (seen.n !== src.size) throw new HttpError(502, 'SIZE_MISMATCH', `${name}: the source sent ${seen.n} bytes; ${src.size} were expected`);
}

/** The model directories under one root, changed one model at a time. */
export class ModelFilesDir {
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(
    readonly root: string,
    private readonly downloadTimeoutMs = DEFAULT_DOWNLOAD_TIMEOUT_MS,
  ) {}

  /** Removes what a crash left half-written. */
  async init(): Promise<void> {
    await rm(join(this.root, STAGING), { recursive: true, force: true });
    await mkdir(join(this.root, STAGING), { recursive: true });
  }

  dirOf(account: string, model: string): string {
    checkModelIds(account, model);
    return join(this.root, account, model);
  }

  list(account: string, model: string): Promise<Map<string, number> | undefined> {
    return listFiles(this.dirOf(account, model));
  }

  /** Makes the model's directory hold exactly these files (downloaded unless already there); true when it downloaded. */
  put(account: string, model: string, files: ReadonlyMap<string, FileSource>): Promise<boolean> {
    const dir = this.dirOf(account, model);
    return this.#serial(dir, async () => {
      const have = await listFiles(dir);
      if (have && [...files].every(([name, f]) => have.get(name) === f.size)) return false;
      const staging = join(this.root, STAGING, `${account}.${model}.${randomUUID()}`);
      try {
        const signal = AbortSignal.timeout(this.downloadTimeoutMs);
        await mkdir(staging, { recursive: true });
        await Promise.all([...files].map(([name, f]) => download(name, f, join(staging, name), signal)));
        await this.#replace(dir, staging);
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
      return true;
    });
  }

  /** Removes the model's directory (absent: nothing to do). */
  remove(account: string, model: string): Promise<void> {
    const dir = this.dirOf(account, model);
    return this.#serial(dir, async () => {
      const old = join(this.root, STAGING, `${account}.${model}.${randomUUID()}.old`);
      if (await rename(dir, old).then(() => true, (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? false : Promise.reject(e)))) {
        await rm(old, { recursive: true, force: true });
      }
    });
  }

  /** `staging` becomes `dir` by rename (what was at `dir` is moved aside first, then removed). */
  async #replace(dir: string, staging: string): Promise<void> {
    await mkdir(dirname(dir), { recursive: true });
    const old = `${staging}.old`;
    const moved = await rename(dir, old).then(() => true, (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? false : Promise.reject(e)));
    await rename(staging, dir);
    if (moved) await rm(old, { recursive: true, force: true });
  }

  #serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.#locks.set(key, tail);
    void tail.then(() => {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    });
    return next;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY_BYTES) throw new HttpError(413, 'INVALID_ARGUMENT', `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw badRequest('the body must be JSON: {"files": {"<name>": {"url", "size"}}}');
  }
}

const asObject = (m: ReadonlyMap<string, number>): Record<string, number> => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)));

/** The model a path names: `/v1/model-files/{account}/{model}`, both resource ids. */
function modelOfPath(path: string): { account: string; model: string } {
  const m = ROUTE.exec(path);
  if (!m) throw new HttpError(404, 'NOT_FOUND', `no such path: ${path.slice(0, 200)}`);
  let account: string;
  let model: string;
  try {
    account = decodeURIComponent(m[1]!);
    model = decodeURIComponent(m[2]!);
  } catch {
    throw badRequest('the path is not valid percent-encoding');
  }
  checkModelIds(account, model);
  return { account, model };
}

interface Handler {
  dir: ModelFilesDir;
  source: URL;
  mountPath: string;
}

async function handle(h: Handler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path === '/healthz' && req.method === 'GET') return send(res, 200, {});
  const { account, model } = modelOfPath(path);
  const mounted = `${h.mountPath}/${account}/${model}`;
  switch (req.method) {
    case 'GET': {
      const files = await h.dir.list(account, model);
      return files ? send(res, 200, { path: mounted, files: asObject(files) }) : send(res, 404, { error: { code: 'NOT_FOUND', message: `no files of ${account}/${model}` } });
    }
    case 'DELETE':
      await h.dir.remove(account, model);
      return send(res, 200, {});
    case 'PUT': {
      const files = parseFileSources(await readJson(req), h.source, account, model);
      const downloaded = await h.dir.put(account, model, files);
      return send(res, 200, { path: mounted, files: asObject(new Map([...files].map(([n, f]) => [n, f.size]))), downloaded });
    }
    default:
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method ?? ''} is not allowed here (GET, PUT, DELETE)`);
  }
}

/** Starts the sidecar's HTTP server over `root` (created if missing; its staging area cleaned). */
export async function startModelFilesServer(o: ModelFilesServerOptions): Promise<ModelFilesServer> {
  const source = new URL(o.sourceUrl);
  if (source.protocol !== 'http:' && source.protocol !== 'https:') throw new Error(`model files: the source URL must be http(s), got ${o.sourceUrl}`);
  const dir = new ModelFilesDir(o.root, o.downloadTimeoutMs);
  await mkdir(o.root, { recursive: true });
  await dir.init();
  const h: Handler = { dir, source, mountPath: (o.mountPath ?? o.root).replace(/\/+$/, '') };
  const server: Server = createServer((req, res) => {
    handle(h, req, res).catch((e: unknown) => {
      const err = e instanceof HttpError ? e : new HttpError(500, 'INTERNAL', e instanceof Error ? e.message : String(e));
      if (!res.headersSent) send(res, err.status, { error: { code: err.code, message: err.message } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = o.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
