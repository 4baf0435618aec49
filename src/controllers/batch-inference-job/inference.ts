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

/** The gRPC code name for an HTTP status, as Fireworks' Status carries it. */
export function codeOfHttpStatus(status: number): string {
  switch (status) {
    case 400:
    case 413:
    case 422:
      return 'INVALID_ARGUMENT';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'NOT_FOUND';
    case 409:
      return 'ABORTED';
    case 429:
      return 'RESOURCE_EXHAUSTED';
    case 501:
      return 'UNIMPLEMENTED';
    case 503:
      return 'UNAVAILABLE';
    case 504:
      return 'DEADLINE_EXCEEDED';
    default:
      return status >= 500 ? 'INTERNAL' : 'UNKNOWN';
  }
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

export function gatewaySend(o: GatewayClientOptions): Send {
  const maxAttempts = o.maxAttempts ?? 6;
  const backoffMs = o.backoffMs ?? 500;
  const maxWaitMs = o.maxWaitMs ?? 30_000;
  const doFetch = o.fetch ?? fetch;
  return async (accountId, path, body, signal) => {
    let last: LineError = { code: 'UNAVAILABLE', message: 'not sent' };
    for (let attempt = 1; ; attempt++) {
      let waitMs = Math.min(maxWaitMs, backoffMs * 2 ** (attempt - 1));
      try {
        const key = await o.keyFor(accountId);
        const base = (await o.url()).replace(/\/+$/, '');
        const res = await doFetch(`${base}/inference/v1${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify(body),
          signal,
        });
        const text = await res.text();
        if (res.ok) {
          try {
            return { ok: true, response: JSON.parse(text) as unknown };
          } catch {
            return { ok: false, error: { code: 'INTERNAL', message: 'the model server answered with something that is not JSON' } };
          }
        }
        last = { code: codeOfHttpStatus(res.status), message: errorMessage(res.status, text) };
        if (!RETRYABLE.has(res.status)) return { ok: false, error: last };
        const after = Number(res.headers.get('retry-after'));
        if (Number.isFinite(after) && after > 0) waitMs = Math.min(maxWaitMs, after * 1000);
      } catch (e) {
        if (signal.aborted) throw e;
        last = { code: 'UNAVAILABLE', message: `the gateway could not be reached: ${(e as Error).message}` };
      }
      if (attempt >= maxAttempts) return { ok: false, error: last };
      if (!(await sleep(o.clock, waitMs, signal))) throw signal.reason ?? new Error('aborted');
    }
  };
}
