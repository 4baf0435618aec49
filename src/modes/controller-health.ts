// The controller's health listener (HEARTH_CONTROLLER_HEALTH_PORT), as controller-runtime's
// health probe address (:8081 in kubebuilder's scaffold):
//   GET /healthz  200 while the manager runs (leader or standby); 503 once it has stopped or failed
//   GET /readyz   200 once every informer the process declared has synced; 503 before
// A standby is healthy and ready: readiness says the process could lead at once from a warm cache,
// not that it leads (the body says which). Nothing else is served; no detail beyond the body's flags.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';

export interface HealthSources {
  /** Settles when the manager has stopped (resolves) or failed (rejects). */
  done: Promise<void>;
  isLeader(): boolean;
  /** Every informer of the process has listed once. */
  hasSynced(): boolean;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(sources: HealthSources, o: { port: number; host?: string; log: Logger }): Promise<HealthServer> {
  let stopped = false;
  const markStopped = (): void => {
    stopped = true;
  };
  sources.done.then(markStopped, markStopped);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, body: Record<string, unknown>): void => {
      res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { error: 'method not allowed' });
    const leader = sources.isLeader();
    if (path === '/healthz') return stopped ? send(503, { status: 'stopped', leader }) : send(200, { status: 'ok', leader });
    if (path === '/readyz') {
      if (stopped) return send(503, { status: 'stopped', leader });
      return sources.hasSynced() ? send(200, { status: 'ready', leader }) : send(503, { status: 'caches not synced', leader });
    }
    return send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  o.log.info({ port }, 'controller health listener: /healthz, /readyz');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
