// A dependency that is down (the Kubernetes API server, PostgreSQL) is an outage, not a bug: the
// request answers 503 UNAVAILABLE with Retry-After (src/api/plugins/errors.ts), never 500. Errors
// are classified by their codes (socket errno, PostgreSQL SQLSTATE class, HTTP status of the API
// server), walking the `cause` chain (drizzle wraps the driver's error, fetch wraps the socket's).
import { ApiError, ERROR_DOMAIN } from './errors.js';

/** Retry-After of an outage's 503: long enough not to hammer a recovering server. */
export const OUTAGE_RETRY_AFTER_SECONDS = 5;

/** Socket and timeout errors: the peer is unreachable or did not answer in time. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/**
 * PostgreSQL SQLSTATEs of an unavailable server: class 08 (connection exception), 57P01–57P05
 * (shutdown, crash recovery, cannot connect now, idle session timeout), 53300 (too many connections).
 */
function isPgUnavailableCode(code: string): boolean {
  return code.startsWith('08') || /^57P0[1-5]$/.test(code) || code === '53300';
}

/** `pg`'s own messages for a lost or never-made connection (they carry no code). */
const PG_CONNECTION_MESSAGES = [/^Connection terminated/, /timeout exceeded when trying to connect/, /^Client has encountered a connection error/, /^Connection terminated unexpectedly/];

export type Dependency = 'kubernetes' | 'database' | 'unknown';

/** Which dependency an error says is down, if it says one is; undefined for anything else. */
export function outageOf(e: unknown): Dependency | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < 6 && typeof cur === 'object' && cur !== null; depth++) {
    const found = outageOfOne(cur, e);
    if (found !== undefined) return found;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** One link of the cause chain (`root`: the whole chain, for the dependency's name). */
function outageOfOne(cur: object, root: unknown): Dependency | undefined {
  const { code, name, message } = cur as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof code === 'string') return codeOutage(code, root);
  // The API server answered but is unhealthy (5xx other than 501): an outage of the cluster.
  if (typeof code === 'number') return isServerFailure(code) && isKubeApiException(cur) ? 'kubernetes' : undefined;
  if (TIMEOUT_NAMES.has(String(name))) return dependencyOf(root);
  if (typeof message === 'string' && PG_CONNECTION_MESSAGES.some((re) => re.test(message))) return 'database';
  return undefined;
}

const TIMEOUT_NAMES = new Set(['TimeoutError', 'AbortError', 'ConnectTimeoutError']);

const isServerFailure = (status: number): boolean => status >= 500 && status < 600 && status !== 501;

/** A socket errno, or a PostgreSQL SQLSTATE of an unavailable server. */
function codeOutage(code: string, root: unknown): Dependency | undefined {
  if (NETWORK_CODES.has(code)) return dependencyOf(root);
  return /^[0-9A-Z]{5}$/.test(code) && isPgUnavailableCode(code) ? 'database' : undefined;
}

/** client-node's ApiException: `code` (HTTP status), `body`, `headers`. */
function isKubeApiException(e: object): boolean {
  return 'body' in e && 'headers' in e;
}

/** A best guess of which dependency failed, for the message (drizzle's wrapper names the query). */
function dependencyOf(e: unknown): Dependency {
  let cur: unknown = e;
  for (let depth = 0; depth < 6 && typeof cur === 'object' && cur !== null; depth++) {
    const { name, message } = cur as { name?: unknown; message?: unknown };
    if (name === 'DrizzleQueryError' || (typeof message === 'string' && message.startsWith('Failed query:'))) return 'database';
    if (name === 'FetchError' || isKubeApiException(cur)) return 'kubernetes';
    cur = (cur as { cause?: unknown }).cause;
  }
  return 'unknown';
}

const MESSAGES: Record<Dependency, string> = {
  kubernetes: 'the cluster\'s API server is unreachable; retry shortly',
  database: 'the database is unreachable; retry shortly',
  unknown: 'a backing service is unreachable; retry shortly',
};

/** UNAVAILABLE for an outage error; undefined for anything else. */
export function fromOutageError(e: unknown): ApiError | undefined {
  const dep = outageOf(e);
  if (dep === undefined) return undefined;
  return new ApiError(
    'UNAVAILABLE',
    MESSAGES[dep],
    [
      { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ERR_UNAVAILABLE', domain: ERROR_DOMAIN, metadata: { dependency: dep } },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${OUTAGE_RETRY_AFTER_SECONDS}s` },
    ],
    { cause: e },
  );
}
