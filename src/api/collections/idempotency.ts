// Retried creates never create twice (issue 15 item 12). A create that carries an
// `Idempotency-Key` header (what the generated SDKs send on every write, the same on each retry),
// else an `X-Request-Id`, is run once per (account, key): the first request claims the key in
// PostgreSQL (repositories/idempotency.ts), runs, and stores its response; a retry — sequential or
// concurrent, on any replica — gets that response again (`Idempotent-Replayed: true`) instead of a
// second deployment, DeployedModel or job. The same key with another request (another collection,
// query or body) is a 400 naming the header. A create that fails frees its key (nothing was made),
// so the retry runs for real. Keys are kept for `ttlMs` (24 h), then swept.
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { claimIdempotencyKey, completeIdempotencyKey, getIdempotencyKey, releaseIdempotencyKey, sweepIdempotencyKeys } from '../../db/repositories/idempotency.js';
import type { ApiContext } from '../context.js';
import { aborted, invalidArgument } from '../wire/errors.js';

/** The request headers that carry a key, by precedence. */
export const IDEMPOTENCY_HEADERS = ['idempotency-key', 'x-request-id'] as const;
const HEADER_NAMES: Record<(typeof IDEMPOTENCY_HEADERS)[number], string> = { 'idempotency-key': 'Idempotency-Key', 'x-request-id': 'X-Request-Id' };

export interface IdempotencySettings {
  /** How long a finished create replays its response (default 24 h). */
  ttlMs: number;
  /** A claim whose request has not finished after this belongs to a dead request (default 2 min). */
  staleMs: number;
  /** How long a duplicate waits for the first request to finish before 409 (default 30 s). */
  waitMs: number;
  pollMs: number;
}

export const IDEMPOTENCY_DEFAULTS: IdempotencySettings = { ttlMs: 24 * 3600_000, staleMs: 120_000, waitMs: 30_000, pollMs: 50 };

const KEY_RULE = /^[\x21-\x7e]{1,255}$/;

/** The key a request carries and the header it came in; undefined without one. */
export function idempotencyKeyOf(request: FastifyRequest): { key: string; header: string } | undefined {
  for (const h of IDEMPOTENCY_HEADERS) {
    const v = request.headers[h];
    if (v === undefined) continue;
    const key = Array.isArray(v) ? v[0] : v;
    if (key === undefined || !KEY_RULE.test(key)) throw invalidArgument(HEADER_NAMES[h], 'must be 1–255 printable ASCII characters without spaces', 'INVALID_IDEMPOTENCY_KEY');
    return { key, header: HEADER_NAMES[h] };
  }
  return undefined;
}

/** JSON with object keys sorted: the same request hashes the same whatever its key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function requestHash(operation: string, query: unknown, body: unknown): string {
  return createHash('sha256').update(operation).update('\n').update(canonical(query ?? {})).update('\n').update(canonical(body ?? null)).digest('hex');
}

let lastSweep = 0;

/** One request's key: whose, which, and what it was sent with. */
interface Claim {
  accountId: string;
  key: string;
  header: string;
  operation: string;
  requestHash: string;
}

type Outcome = { body: unknown } | 'released' | 'timeout';

/**
 * Runs `create` at most once per (account, key) when the request carries a key; without one, runs
 * it as it is. The operation is the route (method and URL pattern).
 */
export async function idempotentCreate<R>(
  ctx: Pick<ApiContext, 'db' | 'now'>,
  request: FastifyRequest,
  reply: FastifyReply,
  create: () => Promise<R>,
): Promise<R> {
  const carried = idempotencyKeyOf(request);
  if (!carried) return create();
  const operation = `${request.method} ${request.routeOptions.url ?? ''}`;
  const accountId = (request.params as { accountId: string }).accountId;
  const claim: Claim = { accountId, ...carried, operation, requestHash: requestHash(operation, request.query, request.body) };
  const replayed = (body: unknown): R => {
    void reply.header('idempotent-replayed', 'true');
    return body as R;
  };
  const settings = IDEMPOTENCY_DEFAULTS;
  const started = Date.now();
  for (;;) {
    const got = await claimIdempotencyKey(ctx.db, { ...claim, now: ctx.now(), ttlMs: settings.ttlMs, staleMs: settings.staleMs });
    if (got.owned) return runOwned(ctx, claim, create);
    const row = got.row;
    if (row.operation !== operation || row.requestHash !== claim.requestHash) {
      throw invalidArgument(claim.header, `was first sent with another request (${row.operation}); send a new key for a new request`, 'IDEMPOTENCY_KEY_REUSED');
    }
    if (row.state === 'done') return replayed(row.responseBody);
    // The first request is still running (here or on another replica): wait for its answer.
    const done = await waitForOutcome(ctx, claim, started);
    if (done === 'timeout') throw aborted(`a request with this ${claim.header} is still in progress; retry`);
    if (done !== 'released') return replayed(done.body);
    // It failed and freed the key: this request runs for real.
  }
}

async function runOwned<R>(ctx: Pick<ApiContext, 'db' | 'now'>, claim: Claim, create: () => Promise<R>): Promise<R> {
  let result: R;
  try {
    result = await create();
  } catch (e) {
    await releaseIdempotencyKey(ctx.db, claim.accountId, claim.key).catch(() => undefined);
    throw e;
  }
  await completeIdempotencyKey(ctx.db, { accountId: claim.accountId, key: claim.key, status: 200, body: result });
  const now = ctx.now().getTime();
  if (now - lastSweep > IDEMPOTENCY_DEFAULTS.ttlMs / 24) {
    lastSweep = now;
    void sweepIdempotencyKeys(ctx.db, ctx.now()).catch(() => undefined);
  }
  return result;
}

async function waitForOutcome(ctx: Pick<ApiContext, 'db'>, claim: Claim, started: number): Promise<Outcome> {
  const { waitMs, pollMs } = IDEMPOTENCY_DEFAULTS;
  while (Date.now() - started < waitMs) {
    await new Promise((r) => setTimeout(r, pollMs));
    const row = await getIdempotencyKey(ctx.db, claim.accountId, claim.key);
    if (!row) return 'released';
    if (row.state === 'done') return { body: row.responseBody };
  }
  return 'timeout';
}
