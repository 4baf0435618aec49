// The inference edge's request handling on node:http (no framework on the hot path: routing is a
// switch over five paths; /metrics is on the admin listener only, admin.ts). Per inference request: authenticate → read the body → resolve the
// model → pick a ready replica (least in flight) or hold while the deployment scales from zero →
// proxy, streaming the answer back → count the load.
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import type { Catalog, Route } from './catalog.js';
import type { GatewayConfig } from './config.js';
import {
  authThrottled,
  GatewayError,
  badRequest,
  forbidden,
  holdQueueFull,
  methodNotAllowed,
  modelNotFound,
  modelNotReady,
  notFoundPath,
  notSynced,
  payloadTooLarge,
  sendError,
  shuttingDown,
  unauthenticated,
} from './errors.js';
import type { HoldQueue } from './hold.js';
import type { Admission, Ticket } from './limits.js';
import type { LoadTracker } from './load.js';
import type { GatewayMetrics } from './metrics.js';
import { proxyRequest, type ProxyResult, type ProxyTarget } from './proxy.js';
import type { Endpoint, Upstreams } from './upstreams.js';

/** What authentication tells the gateway: the caller's account, or why not. */
/** `keyId`: the API key's non-secret id (per-key limits); absent, the token's hash stands for it. */
export type AuthOutcome = { ok: true; accountId: string; keyId?: string } | { ok: false; reason: string; retryAfterMs?: number };
/** `client`: the caller's address, for the authenticator's failure budget. */
export type Authenticate = (token: string | undefined, client?: string) => Promise<AuthOutcome>;

/** The hold queue key of requests waiting for a DeployedModel (`namespace/name`) to be loaded somewhere. */
export const adapterHoldKey = (deployedModelKey: string): string => `adapter:${deployedModelKey}`;

/** Where to connect for an endpoint: itself in production; tests map unroutable pod IPs to loopback. */
export type DialTarget = (ep: Readonly<Endpoint>) => ProxyTarget;

export interface GatewayCore {
  config: GatewayConfig;
  clock: Clock;
  catalog: Catalog;
  upstreams: Upstreams;
  hold: HoldQueue;
  /** Per-key, per-account and global rate, concurrency and body-byte budgets (limits.ts). */
  admission: Admission;
  load: LoadTracker;
  metrics: GatewayMetrics;
  authenticate: Authenticate;
  dialTarget: DialTarget;
  agent: Dispatcher;
  log: Logger;
  /** True once the informers have synced. */
  isReady(): boolean;
  /** Resolves once the informers have synced. */
  synced: Promise<void>;
  /** True while draining: new requests get 503. */
  isClosing(): boolean;
}

type Kind = 'chat' | 'completions' | 'embeddings';
interface Prepared {
  route: Route;
  /** The re-encoded body sent upstream (counted by the request's ticket). */
  payload: Buffer;
  stripUsage: boolean;
  affinity: string | undefined;
}
const INFERENCE: Record<string, { kind: Kind; upstreamPath: string }> = {
  '/inference/v1/chat/completions': { kind: 'chat', upstreamPath: '/v1/chat/completions' },
  '/inference/v1/completions': { kind: 'completions', upstreamPath: '/v1/completions' },
  '/inference/v1/embeddings': { kind: 'embeddings', upstreamPath: '/v1/embeddings' },
};
/** How long a request that arrives before the first sync waits for it. */
const SYNC_WAIT_MS = 10_000;

function settlesWithin(p: Promise<void>, clock: Clock, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = clock.setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clock.clearTimeout(t);
      resolve(true);
    });
  });
}

/** Attempts on other replicas when a request provably never reached one (refused connection). */
const MAX_ATTEMPTS = 3;

function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : '';
}

/**
 * Reads the body, counting it against the request's ticket as it arrives: refused (413, or the
 * ticket's 429/503) the moment it would exceed the size limit or a budget, and what arrives after
 * is dropped, never buffered.
 */
function readBody(req: IncomingMessage, limit: number, ticket: Ticket): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) return Promise.reject(payloadTooLarge(limit));
  const early = Number.isFinite(declared) ? ticket.reserve(declared) : undefined;
  if (early) return Promise.reject(early);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return; // drained and dropped: the error goes out, then the connection closes
      size += c.length;
      const refused = size > limit ? payloadTooLarge(limit) : ticket.reserve(size);
      if (refused) {
        over = true;
        chunks.length = 0;
        reject(refused);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJsonObject(buf: Buffer): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    throw badRequest('the request body is not valid JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw badRequest('the request body must be a JSON object');
  return v as Record<string, unknown>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Request ids: a per-process random prefix and a counter (cheaper than a UUID per request). */
const ID_PREFIX = randomUUID().slice(0, 8);
let requestSeq = 0;
const nextRequestId = (): string => `gw-${ID_PREFIX}-${(++requestSeq).toString(36)}`;

export function createRequestHandler(core: GatewayCore): (req: IncomingMessage, res: ServerResponse) => void {
  const { metrics } = core;

  async function authenticated(req: IncomingMessage): Promise<string> {
    return (await caller(req)).account;
  }

  async function caller(req: IncomingMessage): Promise<{ account: string; key: string }> {
    const token = bearer(req);
    const a = await core.authenticate(token, req.socket.remoteAddress);
    if (a.ok) return { account: a.accountId, key: a.keyId ?? `t:${createHash('sha256').update(token ?? '').digest('base64url').slice(0, 22)}` };
    if (a.reason === 'THROTTLED') throw authThrottled(Math.ceil((a.retryAfterMs ?? 1000) / 1000));
    if (a.reason === 'ACCOUNT_SUSPENDED') throw forbidden('the account is suspended');
    if (a.reason === 'MISSING') throw unauthenticated('missing API key: send "Authorization: Bearer <API key>"');
    throw unauthenticated('invalid, expired or revoked API key');
  }

  /**
   * A ready endpoint for the route, holding the request while there is none. An adapter request
   * takes only a replica that has the adapter loaded (the DeployedModel's status), and is held
   * like a cold start while none has: never sent where the server would answer 404.
   */
  /** `lacking`: replicas that answered this request 404 for its adapter (not asked again). */
  async function endpointFor(route: Route, signal: AbortSignal, deadline: number, affinity: string | undefined, lacking: ReadonlySet<string>): Promise<Endpoint | undefined> {
    const { namespace, name } = route.deployment;
    const maxHeld = route.deployment.maxHeld ?? core.config.maxHeldPerDeployment;
    const adapter = route.adapter;
    const allow = adapter ? (e: Endpoint) => !lacking.has(e.id) && core.catalog.adapterLoadedOn(adapter.key, e.id) : undefined;
    const holdKey = adapter ? adapterHoldKey(adapter.key) : route.key;
    for (;;) {
      const ep = core.upstreams.acquire(route.key, affinity, allow);
      if (ep) return ep;
      if (core.isClosing()) throw shuttingDown();
      if (core.hold.held(holdKey) >= maxHeld) {
        metrics.holdOutcomes.inc({ outcome: 'full' });
        throw holdQueueFull(core.config.queueFullRetryAfterSeconds);
      }
      core.load.heldStart(namespace, name);
      metrics.held.inc({ namespace, deployment: name });
      const outcome = await core.hold.hold(holdKey, { maxHeld, timeoutMs: deadline - core.clock.now() }, signal);
      core.load.heldEnd(namespace, name);
      metrics.held.dec({ namespace, deployment: name });
      metrics.holdOutcomes.inc({ outcome });
      if (outcome === 'full') throw holdQueueFull(core.config.queueFullRetryAfterSeconds);
      if (outcome === 'timeout') throw modelNotReady(core.config.notReadyRetryAfterSeconds);
      if (outcome === 'closing') throw shuttingDown();
      if (outcome === 'gone') throw modelNotFound();
      if (outcome === 'aborted') return undefined;
    }
  }

  async function forward(route: Route, upstreamPath: string, body: Buffer, stripUsage: boolean, requestId: string, res: ServerResponse, signal: AbortSignal, affinity: string | undefined): Promise<ProxyResult | undefined> {
    const limits = route.deployment.holdTimeoutMs ?? core.config.holdTimeoutMs;
    const deadline = core.clock.now() + limits;
    const tried: Endpoint[] = [];
    // Replicas listed LOADED that answered 404 for the adapter: restarted in place since the
    // controller last polled them (it loads the adapter again within its poll interval). The
    // request goes to another replica that has it, or is held like a cold start.
    const lacking = new Set<string>();
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        // A refused sticky endpoint: the retry falls back to least in flight.
        const ep = await endpointFor(route, signal, deadline, attempt === 0 ? affinity : undefined, lacking);
        if (!ep) return undefined;
        tried.push(ep); // released in finally: keeps a refused endpoint from being picked again at once
        const r = await proxyRequest({ agent: core.agent, target: core.dialTarget(ep), path: upstreamPath, body, stripUsage, timeoutMs: core.config.upstreamTimeoutMs, requestId, res, adapter: route.adapter !== undefined });
        if (r.outcome === 'adapter_missing') {
          lacking.add(ep.id);
          core.log.warn({ endpoint: ep.id, deployedModel: route.adapter?.key, requestId }, 'replica listed as having the adapter answered 404 (restarted?); trying another replica');
          continue;
        }
        if (r.outcome !== 'not_sent') return r;
        core.log.warn({ endpoint: ep.id, deployment: route.key, requestId }, 'model server refused the connection; trying another replica');
      }
      if (lacking.size > 0) throw modelNotReady(core.config.notReadyRetryAfterSeconds);
      throw new GatewayError(502, 'bad_gateway', 'BAD_GATEWAY', 'no model server replica accepted the connection');
    } finally {
      for (const ep of tried) core.upstreams.release(ep);
    }
  }

  /**
   * Authenticates, admits (rate, concurrency, body budget) and reads the request, and resolves its
   * route. The parsed body lives only here: what is held and forwarded is the re-encoded bytes,
   * which the ticket counts.
   */
  async function prepare(req: IncomingMessage, kind: Kind, ticketOut: { ticket?: Ticket }): Promise<Prepared> {
    const who = await caller(req);
    const admitted = core.admission.admit(who.key, who.account);
    if (admitted instanceof GatewayError) {
      metrics.refused.inc({ reason: admitted.code });
      throw admitted;
    }
    ticketOut.ticket = admitted;
    const body = parseJsonObject(await readBody(req, core.config.maxBodyBytes, admitted).catch((e: unknown) => {
      if (e instanceof GatewayError && e.status !== 413) metrics.refused.inc({ reason: e.code });
      throw e;
    }));
    // Just started: an unsynced catalog would answer 404 for models that exist. Wait a little.
    if (!core.isReady() && !(await settlesWithin(core.synced, core.clock, SYNC_WAIT_MS))) throw notSynced();
    if (typeof body.model !== 'string' || body.model === '') throw badRequest('"model" is required: a model identifier such as accounts/<account>/models/<model>#accounts/<account>/deployments/<deployment>');
    const route = core.catalog.resolve(body.model, who.account);
    if (!route) throw modelNotFound();
    body.model = route.upstreamModel;
    const opts = body.stream_options as { include_usage?: unknown } | null | undefined;
    const stripUsage = kind !== 'embeddings' && body.stream === true && opts?.include_usage !== true;
    if (stripUsage) body.stream_options = { ...(opts && typeof opts === 'object' ? opts : {}), include_usage: true };
    const affinity = route.deployment.sessionAffinity && typeof body.user === 'string' && body.user !== '' ? body.user : undefined;
    const payload = Buffer.from(JSON.stringify(body));
    const grown = admitted.resize(payload.length);
    if (grown) throw grown;
    return { route, payload, stripUsage, affinity };
  }

  async function inference(req: IncomingMessage, res: ServerResponse, upstreamPath: string, kind: Kind, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && given.length > 0 && given.length <= 128 ? given : nextRequestId();
    res.setHeader('x-request-id', requestId);
    let route: Route | undefined;
    let status = 500;
    const held: { ticket?: Ticket } = {};
    try {
      const p = await prepare(req, kind, held);
      route = p.route;
      const { namespace, name } = route.deployment;
      core.load.arrived(namespace, name);
      metrics.inFlight.inc({ namespace, deployment: name });
      let tokens = 0;
      try {
        const r = await forward(route, upstreamPath, p.payload, p.stripUsage, requestId, res, signal, p.affinity);
        status = r?.status ?? 499;
        if (!r || r.outcome === 'client_gone') status = 499;
        tokens = r?.usage?.completion_tokens ?? 0;
      } finally {
        core.load.finished(namespace, name, tokens);
        metrics.inFlight.dec({ namespace, deployment: name });
        if (tokens > 0) metrics.tokens.inc({ namespace, deployment: name }, tokens);
      }
    } catch (e) {
      const err = e instanceof GatewayError ? e : undefined;
      if (!err) core.log.error({ err: e, requestId }, 'inference request failed');
      status = err?.status ?? 500;
      // A body refused part-way is not read to its end: close the connection after the answer.
      if (!req.readableEnded) res.shouldKeepAlive = false;
      if (!signal.aborted) sendError(res, err ?? new GatewayError(500, 'internal_error', 'INTERNAL', 'Internal Server Error'));
    } finally {
      held.ticket?.release();
      const labels = { namespace: route?.deployment.namespace ?? '', deployment: route?.deployment.name ?? '' };
      metrics.requests.inc({ ...labels, code: String(status) });
      metrics.duration.observe(labels, (performance.now() - started) / 1000);
    }
  }

  async function models(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const account = await authenticated(req);
      const data = core.catalog.visibleModelIds(account).map((id) => ({ id, object: 'model', created: 0, owned_by: id.split('/')[1] ?? account }));
      sendJson(res, 200, { object: 'list', data });
    } catch (e) {
      sendError(res, e instanceof GatewayError ? e : new GatewayError(500, 'internal_error', 'INTERNAL', 'Internal Server Error'));
    }
  }

  return (req, res) => {
    const q = req.url?.indexOf('?') ?? -1;
    const path = q >= 0 ? (req.url ?? '').slice(0, q) : (req.url ?? '');
    const route = INFERENCE[path];
    if (route) {
      if (req.method !== 'POST') return sendError(res, methodNotAllowed());
      if (core.isClosing()) return sendError(res, shuttingDown());
      const abort = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) abort.abort();
      });
      void inference(req, res, route.upstreamPath, route.kind, abort.signal);
      return;
    }
    if (req.method !== 'GET') return sendError(res, path === '/inference/v1/models' ? methodNotAllowed() : notFoundPath());
    switch (path) {
      case '/inference/v1/models':
        void models(req, res);
        return;
      case '/healthz':
        return sendJson(res, 200, { status: 'ok' });
      case '/readyz':
        return core.isReady() && !core.isClosing() ? sendJson(res, 200, { status: 'ready' }) : sendJson(res, 503, { status: 'not ready' });
      default:
        return sendError(res, notFoundPath());
    }
  };
}
