// How an adapter's files reach a replica before vLLM loads them from `lora_path`: the pod's
// `model-files` sidecar (src/artifacts/model-files-server.ts, added to pods of deployments with
// addons by controllers/deployment/children/workload.ts) is asked to fetch them from the Hearth
// API's signed download URLs into the pod's /mnt/models/<account>/<model>:
//   PUT    <pod IP>:MODEL_FILES_PORT/v1/model-files/{account}/{model}  {"files": {name: {url, size}}}
//   DELETE <pod IP>:MODEL_FILES_PORT/v1/model-files/{account}/{model}
// dialled through the process's Dialer like the adapter API (a loopback sidecar in a simulated fleet).
// The URLs are signed here with the code `:getDownloadEndpoint` uses (src/artifacts/signed-url.ts),
// so the controller needs the API's URL secret (HEARTH_UPLOAD_URL_SECRET or the page-token secret)
// and the API's URL as the pods reach it (HEARTH_MODEL_FILES_SOURCE_URL).
import { MODEL_FILES_PORT } from '../../fleet/lora.js';
import { FileUrlSigner, signedFileUrl } from '../../artifacts/signed-url.js';
import type { Dialer } from '../../kube/dial.js';
import type { Clock } from '../../util/clock.js';
import type { Replica } from './model-server.js';

export interface FileSource {
  url: string;
  size: number;
}

export type FilesResult = { ok: true } | { ok: false; status: number; message: string };

/** A model of an account: `accounts/<account>/models/<model>`. */
export interface ModelRef {
  account: string;
  model: string;
}

export interface ModelFilesApi {
  /** Puts the model's files into the replica's model mount (a no-op when they are there). Throws when unreachable. */
  put(r: Replica, m: ModelRef, files: Record<string, FileSource>, signal?: AbortSignal): Promise<FilesResult>;
  /** Removes them. Throws when unreachable. */
  remove(r: Replica, m: ModelRef, signal?: AbortSignal): Promise<FilesResult>;
}

const MODEL_NAME_RE = /^accounts\/([^/]+)\/models\/([^/]+)$/;

/** `accounts/<a>/models/<m>` → its parts; undefined for any other form (a name only known by name). */
export function modelRefOf(name: string): ModelRef | undefined {
  const m = MODEL_NAME_RE.exec(name);
  return m?.[1] && m[2] ? { account: m[1], model: m[2] } : undefined;
}

/** Signed GET URLs of a model's files, valid `ttlMs` (the pod fetches at once). */
export type ModelFileUrls = (m: ModelRef, files: Readonly<Record<string, number>>) => Record<string, FileSource>;

export const DEFAULT_FILE_URL_TTL_MS = 60 * 60_000;

export function signedModelFileUrls(o: { sourceUrl: string; secret?: string | Buffer | undefined; clock: Clock; ttlMs?: number }): ModelFileUrls {
  const signer = new FileUrlSigner(o.secret);
  return ({ account, model }, files) => {
    const now = o.clock.now();
    return Object.fromEntries(
      Object.entries(files).map(([fileName, size]) => [
        fileName,
        { url: signedFileUrl(signer, o.sourceUrl, { op: 'download', collection: 'models', accountId: account, resourceId: model, fileName, size }, { now, ttlMs: o.ttlMs ?? DEFAULT_FILE_URL_TTL_MS }), size },
      ]),
    );
  };
}

function errorMessage(text: string): string {
  try {
    const m = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof m === 'string') return m;
  } catch {
    // not JSON
  }
  return text.slice(0, 1024);
}

export class HttpModelFilesApi implements ModelFilesApi {
  constructor(
    private readonly dial: Dialer,
    /** A PUT downloads the adapter's weights: minutes for a large one. */
    private readonly timeoutMs = 15 * 60_000,
    private readonly port = MODEL_FILES_PORT,
  ) {}

  async #call(r: Replica, m: ModelRef, init: { method: 'PUT' | 'DELETE'; body?: unknown }, signal: AbortSignal | undefined): Promise<FilesResult> {
    const t = this.dial(r.address, this.port);
    const host = t.host.includes(':') ? `[${t.host}]` : t.host;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const res = await fetch(`http://${host}:${t.port}/v1/model-files/${encodeURIComponent(m.account)}/${encodeURIComponent(m.model)}`, {
      method: init.method,
      ...(init.body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.body) } : {}),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    const text = await res.text();
    return res.ok ? { ok: true } : { ok: false, status: res.status, message: errorMessage(text) };
  }

  put(r: Replica, m: ModelRef, files: Record<string, FileSource>, signal?: AbortSignal): Promise<FilesResult> {
    return this.#call(r, m, { method: 'PUT', body: { files } }, signal);
  }

  remove(r: Replica, m: ModelRef, signal?: AbortSignal): Promise<FilesResult> {
    return this.#call(r, m, { method: 'DELETE' }, signal);
  }
}
