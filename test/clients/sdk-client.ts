// A REST client that behaves as the platform's generated SDKs do (Stainless-style, like the
// `openai` package): the same headers on every request — User-Agent, Accept, Content-Type:
// application/json even on a GET or a DELETE without a body, X-Stainless-* platform headers, an
// Idempotency-Key on writes; camelCase JSON bodies; query strings with booleans as `true` and
// arrays as repeated parameters; and retries of 429 and 503 after the Retry-After the server
// sends (at most `maxRetries` times). Sleeping goes through `sleep`, so tests drive it with a fake clock.
import { randomUUID } from 'node:crypto';

export type Query = Record<string, string | number | boolean | readonly (string | number | boolean)[] | undefined>;

export interface SdkClientOptions {
  baseUrl: string;
  apiKey: string;
  maxRetries?: number;
  /** How the SDK waits before a retry; default: a real timer. */
  sleep?: (ms: number) => Promise<void>;
  /** `{}` (most generated SDKs) or no body at all for operations whose body is optional. */
  emptyBody?: 'object' | 'none';
}

export interface SdkResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body (every Hearth answer is JSON). */
  body: Record<string, unknown>;
  /** Status of every attempt, retries included. */
  attempts: number[];
  /** What the client waited before each retry, in ms. */
  waited: number[];
  /** The request as sent on the last attempt. */
  sent: { url: string; headers: Record<string, string>; body: string | undefined };
}

/** `a=1&flag=true&names=x&names=y`: booleans as `true`/`false`, arrays repeated, undefined left out. */
export function encodeQuery(query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) params.append(k, String(item));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** Seconds (or an HTTP date) of Retry-After in ms; SDKs fall back to a short backoff without one. */
function retryAfterMs(headers: Headers, attempt: number): number {
  const h = headers.get('retry-after');
  const seconds = h === null ? Number.NaN : Number(h);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = h === null ? Number.NaN : Date.parse(h);
  if (Number.isFinite(date)) return Math.max(0, date - Date.now());
  return Math.min(8000, 500 * 2 ** attempt);
}

export class SdkClient {
  readonly userAgent = 'Fireworks/JS 0.0.0-hearth-test';

  constructor(private readonly opts: SdkClientOptions) {}

  async request(method: string, path: string, args: { query?: Query; body?: unknown } = {}): Promise<SdkResponse> {
    const url = `${this.opts.baseUrl}${path}${encodeQuery(args.query)}`;
    const write = method !== 'GET' && method !== 'DELETE';
    const body = args.body !== undefined ? JSON.stringify(args.body) : write && (this.opts.emptyBody ?? 'object') === 'object' ? '{}' : undefined;
    const idempotencyKey = `stainless-node-retry-${randomUUID()}`;
    const attempts: number[] = [];
    const waited: number[] = [];
    const maxRetries = this.opts.maxRetries ?? 2;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {
        authorization: `Bearer ${this.opts.apiKey}`,
        accept: 'application/json',
        'content-type': 'application/json',
        'user-agent': this.userAgent,
        'x-stainless-lang': 'js',
        'x-stainless-package-version': '0.0.0',
        'x-stainless-os': 'Linux',
        'x-stainless-arch': 'x64',
        'x-stainless-runtime': 'node',
        'x-stainless-runtime-version': process.version,
        'x-stainless-retry-count': String(attempt),
        'x-stainless-timeout': '60',
        ...(write ? { 'idempotency-key': idempotencyKey } : {}),
      };
      const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      attempts.push(res.status);
      if ((res.status === 429 || res.status === 503) && attempt < maxRetries) {
        const ms = retryAfterMs(res.headers, attempt);
        waited.push(ms);
        await (this.opts.sleep ?? ((t: number) => new Promise<void>((r) => setTimeout(r, t))))(ms);
        continue;
      }
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw new Error(`${method} ${url} → ${res.status}: not JSON: ${text.slice(0, 200)}`);
      }
      return { status: res.status, headers: res.headers, body: parsed, attempts, waited, sent: { url, headers, body } };
    }
  }

  /** Every item of a list, page by page, handing nextPageToken back as received (the SDKs' auto-pagination). */
  async *paginate(path: string, collection: string, query: Query = {}): AsyncGenerator<Record<string, unknown>, number> {
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const res = await this.request('GET', path, { query: { ...query, pageToken } });
      if (res.status !== 200) throw new Error(`GET ${path} page ${pages + 1} → ${res.status} ${JSON.stringify(res.body)}`);
      pages++;
      for (const item of (res.body[collection] as Record<string, unknown>[] | undefined) ?? []) yield item;
      pageToken = (res.body.nextPageToken as string | undefined) || undefined;
    } while (pageToken);
    return pages;
  }
}
