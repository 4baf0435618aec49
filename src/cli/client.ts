// The REST client the CLI is built on (no side doors: no kubectl, no database): JSON over HTTP to
// `<base>/v1/accounts/<account>/…` with the Bearer key, errors as ApiCallError, and a streamed PUT
// of a file to a signed URL that reports bytes as they leave.
import { createReadStream, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform } from 'node:stream';
import { ApiCallError, UsageError, apiErrorOf } from './errors.js';

export type Query = Record<string, string | number | boolean | string[] | undefined>;

export interface CallOptions {
  query?: Query;
  body?: unknown;
}

/** --dry-run: the request was printed, nothing sent; main ends with exit 0. */
export class DryRun extends Error {}

export interface ClientOptions {
  baseUrl: string;
  apiKey?: string;
  accountId?: string;
  /** Print requests (without the key) instead of sending them. */
  dryRun?: boolean;
  print?: (line: string) => void;
}

export function queryString(q: Query = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) p.append(k, x);
    else p.append(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

export class RestClient {
  constructor(readonly opts: ClientOptions) {}

  get accountId(): string {
    if (!this.opts.accountId) throw new UsageError('no account: pass --account-id (-a), set HEARTH_ACCOUNT_ID, or run `hearth set-api-key KEY --account-id ID`');
    return this.opts.accountId;
  }

  /** `/v1/accounts/<account><path>` */
  account<T = Record<string, unknown>>(method: string, path: string, o: CallOptions = {}): Promise<T> {
    return this.call<T>(method, `/v1/accounts/${encodeURIComponent(this.accountId)}${path}`, o);
  }

  async call<T = Record<string, unknown>>(method: string, path: string, o: CallOptions = {}): Promise<T> {
    const url = `${this.opts.baseUrl}${path}${queryString(o.query)}`;
    if (this.opts.dryRun) this.printDryRun(method, url, o.body);
    if (!this.opts.apiKey) throw new UsageError('no API key: pass --api-key, set HEARTH_API_KEY, or run `hearth set-api-key KEY`');
    const headers: Record<string, string> = { authorization: `Bearer ${this.opts.apiKey}`, accept: 'application/json' };
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) }).catch((e: unknown) => {
      throw this.unreachable(e);
    });
    const body = parseBody(await res.text());
    if (!res.ok) throw apiErrorOf(res.status, body);
    return body as T;
  }

  private printDryRun(method: string, url: string, body: unknown): never {
    const print = this.opts.print ?? ((l: string) => process.stdout.write(`${l}\n`));
    print(`${method} ${url}`);
    if (body !== undefined) print(JSON.stringify(body, null, 2));
    throw new DryRun();
  }

  private unreachable(e: unknown): ApiCallError {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    return new ApiCallError(0, 'UNAVAILABLE', `cannot reach ${this.opts.baseUrl}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
}

/** JSON, or the text itself when it is not JSON (kept for the error message). */
function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return text;
  }
}

/** Bytes sent so far, of the total. */
export type OnBytes = (sent: number, total: number) => void;

/** PUT a file's raw bytes to a signed URL (no API key: the signature is the credential). */
export function putFile(url: string, file: string, onBytes: OnBytes): Promise<void> {
  const total = statSync(file).size;
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let sent = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        sent += chunk.length;
        onBytes(sent, total);
        cb(null, chunk);
      },
    });
    const req = request(u, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': String(total) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        if ((res.statusCode ?? 0) < 300) return resolve();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // keep the text
        }
        reject(apiErrorOf(res.statusCode ?? 0, body));
      });
    });
    req.on('error', (e) => reject(new ApiCallError(0, 'UNAVAILABLE', `upload to ${u.host} failed: ${e.message}`)));
    createReadStream(file, { highWaterMark: 256 * 1024 }).on('error', reject).pipe(counter).pipe(req);
  });
}
