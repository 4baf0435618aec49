// Sending one request through the inference gateway (the same edge users call, so routing,
// scale-from-zero holds and metering apply to batch lines too). Transient answers (429, 502, 503,
// 504, a connection error) are retried with the gateway's Retry-After or a backoff, a bounded
// number of times; any other answer is final and becomes the line's answer.
import { sleep, type Clock } from '../../util/clock.js';
import type { InferencePath, LineError } from './lines.js';

export type SendResult = { ok: true; response: unknown } | { ok: false; error: LineError };

/** Sends one request as `accountId`; never throws for a failed request, only when `signal` aborts. */
export type Send = (accountId: string, path: InferencePath, body: Record<string, unknown>, signal: AbortSignal) => Promise<SendResult>;

/** An API key of the account the job runs for (the gateway authenticates like any client). */
export type KeyFor = (accountId: string) => Promise<string>;

export interface GatewayClientOptions {
  /**
   * The gateway's base URL, e.g. http://hearth-gateway:8081 (requests go to <url>/inference/v1/…);
   * asked per request, since in mode `all` the in-process gateway starts after the controller.
   */
  url: () => Promise<string>;
  keyFor: KeyFor;
  clock: Clock;
  /** Attempts per line before a transient failure becomes its answer. */
  maxAttempts?: number;
  /** First backoff when the gateway gives no Retry-After; doubles per attempt. */
  backoffMs?: number;
  /** Longest wait between attempts. */
  maxWaitMs?: number;
  fetch?: typeof fetch;
}

const RETRYABLE = new Set([429, 502, 503, 504]);

const CODES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  413: 'INVALID_ARGUMENT',
  422: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** The gRPC code name for an HTTP status, as Fireworks' Status carries it. */
export function codeOfHttpStatus(status: number): string {
  return CODES[status] ?? (status >= 500 ? 'INTERNAL' : 'UNKNOWN');
}

function errorMessage(status: number, text: string): string {
  try {
    const v = JSON.parse(text) as { error?: { message?: unknown } };
    if (typeof v.error?.message === 'string') return v.error.message;
  } catch {
    // not JSON: the text itself
  }
  return text.trim().slice(0, 1000) || `HTTP ${status}`;
}

/** One attempt: the final result, or a transient failure with how long to wait before the next. */
type Attempt = { done: SendResult } | { retry: LineError; waitMs?: number };

export function gatewaySend(o: GatewayClientOptions): Send {
  const maxAttempts = o.maxAttempts ?? 6;
  const backoffMs = o.backoffMs ?? 500;
  const maxWaitMs = o.maxWaitMs ?? 30_000;
  const doFetch = o.fetch ?? fetch;

  async function attempt(accountId: string, path: InferencePath, body: Record<string, unknown>, signal: AbortSignal): Promise<Attempt> {
    let res: Response;
    let text: string;
    try {
      const key = await o.keyFor(accountId);
      const base = (await o.url()).replace(/\/+$/, '');
      res = await doFetch(`${base}/inference/v1${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify(body),
        signal,
      });
      text = await res.text();
    } catch (e) {
      if (signal.aborted) throw e;
      return { retry: { code: 'UNAVAILABLE', message: `the gateway could not be reached: ${(e as Error).message}` } };
    }
    if (res.ok) return { done: parseAnswer(text) };
    const error = { code: codeOfHttpStatus(res.status), message: errorMessage(res.status, text) };
    if (!RETRYABLE.has(res.status)) return { done: { ok: false, error } };
    const after = Number(res.headers.get('retry-after'));
    return { retry: error, ...(Number.isFinite(after) && after > 0 ? { waitMs: after * 1000 } : {}) };
  }

  return async (accountId, path, body, signal) => {
    for (let n = 1; ; n++) {
      const a = await attempt(accountId, path, body, signal);
      if ('done' in a) return a.done;
      if (n >= maxAttempts) return { ok: false, error: a.retry };
      const waitMs = Math.min(maxWaitMs, a.waitMs ?? backoffMs * 2 ** (n - 1));
      if (!(await sleep(o.clock, waitMs, signal))) throw signal.reason ?? new Error('aborted');
    }
  };
}

function parseAnswer(text: string): SendResult {
  try {
    return { ok: true, response: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, error: { code: 'INTERNAL', message: 'the model server answered with something that is not JSON' } };
  }
}
