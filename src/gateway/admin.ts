// The gateway's admin listener: off the public inference port, published only by a headless
// Service of its own and admitted by NetworkPolicy from the controller (load scrapes) and the
// metrics scrapers. It serves
//   GET /internal/load   the autoscaler's load long-poll (HEARTH_INTERNAL_TOKEN; load-endpoint.ts)
//   GET /metrics         Prometheus metrics; with HEARTH_METRICS_TOKEN set, only to `Bearer <token>`
//   GET /healthz
// /metrics lives here and never on the inference listener: its series name every account's
// namespace and deployments (issue 15 item 3).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import { LOAD_PATH, bearerMatches, handleLoadRequest, type LoadBoard } from './load-endpoint.js';
import type { GatewayMetrics } from './metrics.js';

export const METRICS_PATH = '/metrics';

export interface AdminOptions {
  board: LoadBoard;
  clock: Clock;
  /** HEARTH_INTERNAL_TOKEN: unset, /internal/load answers 404. */
  internalToken: string | undefined;
  /** HEARTH_METRICS_TOKEN: set, /metrics requires it as a bearer token. */
  metricsToken: string | undefined;
  metrics: GatewayMetrics;
  closing: AbortSignal;
  log: Logger;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function serveMetrics(req: IncomingMessage, res: ServerResponse, o: AdminOptions): Promise<void> {
  if (o.metricsToken !== undefined && !bearerMatches(req.headers.authorization, o.metricsToken)) {
    res.setHeader('www-authenticate', 'Bearer');
    return sendJson(res, 401, { error: { code: 'unauthenticated', message: 'a valid metrics token is required' } });
  }
  o.metrics.beforeScrape();
  const text = await o.metrics.registry.metrics();
  res.writeHead(200, { 'content-type': o.metrics.registry.contentType }).end(text);
}

export function createAdminHandler(o: AdminOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const loadOpts = { board: o.board, clock: o.clock, token: o.internalToken, closing: o.closing };
  const failed = (what: string, res: ServerResponse) => (err: unknown) => {
    o.log.error({ err }, `${what} failed`);
    if (!res.headersSent) res.writeHead(500).end();
  };
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET') return sendJson(res, 405, { error: { code: 'method_not_allowed', message: 'Method Not Allowed' } });
    if (path === LOAD_PATH) return void handleLoadRequest(req, res, loadOpts).catch(failed('load endpoint', res));
    if (path === METRICS_PATH) return void serveMetrics(req, res, o).catch(failed('metrics', res));
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    return sendJson(res, 404, { error: { code: 'not_found', message: 'Not Found' } });
  };
}
