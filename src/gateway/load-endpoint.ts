// The cross-process load transport, gateway side: PULL, as Knative's autoscaler scrapes its
// activators and queue-proxies. The controller's scraper (controllers/autoscaler/load-scraper.ts)
// long-polls every gateway replica's `GET /internal/load` on the admin listener:
//
//   GET /internal/load?after=<seq>&waitMs=<ms>     Authorization: Bearer <HEARTH_INTERNAL_TOKEN>
//   → 200 {gatewayId, bootId, seq, at, deployments: [{namespace, deployment, inFlight, held,
//          requestsPerSecond, tokensPerSecond, lastRequestAt?}]}
//
// `seq` moves with every report of this replica's LoadTracker: each full report (every
// reportIntervalMs, 1 s) and each urgent one (the first request held for a deployment at zero).
// With `after` equal to the current seq the answer waits until the next report, at most `waitMs`
// (≤ 30 s); otherwise it is immediate (first call, a missed report, or a restarted gateway whose
// seq started again). So one open request per gateway carries both the periodic load (one answer
// per report interval) and the cold-start wake (answered the moment a request is held), with no
// listener on the controller and no write through the API server.
//
// The snapshot is the newest full report with the urgent entries since laid over it.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock, Timer } from '../util/clock.js';
import type { DeploymentLoad, LoadReport, LoadReporter } from './load.js';

export const LOAD_PATH = '/internal/load';
/** The longest an answer is held open (a client asking longer gets this). */
export const MAX_WAIT_MS = 30_000;
/** Deployments idle this long drop their lastRequestAt. */
const LAST_REQUEST_KEEP_MS = 3_600_000;

export interface DeploymentLoadEntry extends DeploymentLoad {
  /** The last report (ms, this gateway's clock) in which the deployment had a request in flight or arriving. */
  lastRequestAt?: number;
}

export interface LoadSnapshot {
  gatewayId: string;
  /** Random per process start: a new one means the gateway restarted (its seq started again). */
  bootId: string;
  seq: number;
  /** When the newest report was made (this gateway's clock). */
  at: number;
  deployments: DeploymentLoadEntry[];
}

interface Waiter {
  resolve(): void;
}

/** Keeps the newest load of this gateway replica for the scraper, and wakes waiting scrapes. */
export class LoadBoard implements LoadReporter {
  readonly bootId = randomBytes(6).toString('hex');
  #seq = 0;
  #at = 0;
  #gatewayId: string;
  #full = new Map<string, DeploymentLoad>();
  readonly #urgent = new Map<string, DeploymentLoad>();
  readonly #lastRequest = new Map<string, number>();
  readonly #waiters = new Set<Waiter>();

  constructor(gatewayId = '') {
    this.#gatewayId = gatewayId;
  }

  get seq(): number {
    return this.#seq;
  }

  report(r: LoadReport): void {
    this.#gatewayId = r.gatewayId;
    this.#at = r.at;
    const key = (d: DeploymentLoad): string => `${d.namespace}/${d.deployment}`;
    if (r.kind === 'full') {
      this.#full = new Map(r.deployments.map((d) => [key(d), d]));
      this.#urgent.clear();
      for (const [k, at] of this.#lastRequest) if (r.at - at > LAST_REQUEST_KEEP_MS) this.#lastRequest.delete(k);
    } else {
      for (const d of r.deployments) this.#urgent.set(key(d), d);
    }
    for (const d of r.deployments) if (d.inFlight > 0 || d.requestsPerSecond > 0) this.#lastRequest.set(key(d), r.at);
    this.#seq++;
    for (const w of this.#waiters) w.resolve();
    this.#waiters.clear();
  }

  snapshot(): LoadSnapshot {
    const merged = new Map([...this.#full, ...this.#urgent]);
    const deployments = [...merged].map(([k, d]): DeploymentLoadEntry => {
      const last = this.#lastRequest.get(k);
      return last === undefined ? { ...d } : { ...d, lastRequestAt: last };
    });
    return { gatewayId: this.#gatewayId, bootId: this.bootId, seq: this.#seq, at: this.#at, deployments };
  }

  /** Resolves at the next report, or after `ms` on `clock`, or when `signal` aborts. */
  nextReport(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const held: { timer?: Timer } = {};
      const w: Waiter = {
        resolve: () => {
          if (held.timer !== undefined) clock.clearTimeout(held.timer);
          signal?.removeEventListener('abort', w.resolve);
          this.#waiters.delete(w);
          resolve();
        },
      };
      this.#waiters.add(w);
      held.timer = clock.setTimeout(w.resolve, ms);
      signal?.addEventListener('abort', w.resolve, { once: true });
    });
  }

  /** Scrapes waiting right now (tests, metrics). */
  waiting(): number {
    return this.#waiters.size;
  }

  /** Answers every waiting scrape now (shutdown). */
  wakeAll(): void {
    for (const w of [...this.#waiters]) w.resolve();
  }
}

/** Both reporters get every report (the board for scrapes, plus an in-process aggregator). */
export function teeReporter(...reporters: LoadReporter[]): LoadReporter {
  return { report: (r) => reporters.forEach((x) => x.report(r)) };
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Constant-time check of `Authorization: Bearer <token>` (hashes first, so lengths never leak). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/i.exec(header ?? '');
  const given = m?.[1] ?? '';
  return timingSafeEqual(digest(given), digest(token)) && given !== '';
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function intParam(v: string | null, name: string): number | undefined | Error {
  if (v === null || v === '') return undefined;
  if (!/^\d{1,15}$/.test(v)) return new Error(`${name} must be a non-negative integer`);
  return Number(v);
}

export interface LoadEndpointOptions {
  board: LoadBoard;
  clock: Clock;
  /** The shared secret; undefined → the endpoint answers 404 (disabled). */
  token: string | undefined;
  /** Aborted on shutdown: waiting scrapes are answered at once. */
  closing?: AbortSignal;
}

/** Handles `GET /internal/load` (the caller has matched the path). */
export async function handleLoadRequest(req: IncomingMessage, res: ServerResponse, o: LoadEndpointOptions): Promise<void> {
  if (o.token === undefined) return sendJson(res, 404, { error: { code: 'not_found', message: 'load endpoint disabled: HEARTH_INTERNAL_TOKEN is not set' } });
  if (req.method !== 'GET') return sendJson(res, 405, { error: { code: 'method_not_allowed', message: 'GET only' } });
  if (!bearerMatches(req.headers.authorization, o.token)) {
    res.setHeader('www-authenticate', 'Bearer');
    return sendJson(res, 401, { error: { code: 'unauthenticated', message: 'a valid internal token is required' } });
  }
  const url = new URL(req.url ?? '/', 'http://gateway');
  const after = intParam(url.searchParams.get('after'), 'after');
  const waitMs = intParam(url.searchParams.get('waitMs'), 'waitMs');
  for (const v of [after, waitMs]) if (v instanceof Error) return sendJson(res, 400, { error: { code: 'bad_request', message: v.message } });
  const bootId = url.searchParams.get('bootId');
  const sameBoot = bootId === null || bootId === o.board.bootId;
  if (after === o.board.seq && sameBoot && !o.closing?.aborted) {
    const gone = new AbortController();
    const onClose = (): void => gone.abort();
    res.once('close', onClose);
    const stop = o.closing ? AbortSignal.any([gone.signal, o.closing]) : gone.signal;
    await o.board.nextReport(o.clock, Math.min((waitMs as number | undefined) ?? 0, MAX_WAIT_MS), stop);
    res.off('close', onClose);
    if (gone.signal.aborted) return;
  }
  sendJson(res, 200, o.board.snapshot());
}
