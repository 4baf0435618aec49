// `/healthz` is liveness: the process answers (restarting it cures nothing a dependency broke).
// `/readyz` is readiness: every dependency check passes (API server reachable, database reachable,
// caches synced), each within `checkTimeoutMs`; otherwise 503 with Retry-After and the failing
// checks named, so a load balancer sends traffic to replicas that can serve it.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { OUTAGE_RETRY_AFTER_SECONDS } from '../wire/outage-errors.js';

/** One dependency: resolves when it is usable, rejects (or times out) when not. */
export interface ReadinessCheck {
  name: string;
  check(signal: AbortSignal): Promise<void>;
}

export interface HealthPluginOptions {
  checks: readonly ReadinessCheck[];
  /** How long one check may take before it counts as failed (default 2 s). */
  checkTimeoutMs?: number;
}

export interface Readiness {
  ready: boolean;
  /** Check name → `ok` or why it failed. */
  checks: Record<string, string>;
}

/** Runs every check at once; a check that throws or outlives the timeout fails. */
export async function readiness(checks: readonly ReadinessCheck[], timeoutMs: number): Promise<Readiness> {
  const results = await Promise.all(
    checks.map(async (c): Promise<[string, string]> => {
      const abort = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`no answer within ${timeoutMs} ms`));
          abort.abort();
        }, timeoutMs);
      });
      try {
        await Promise.race([c.check(abort.signal), timeout]);
        return [c.name, 'ok'];
      } catch (e) {
        return [c.name, e instanceof Error ? e.message.slice(0, 200) : String(e)];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { ready: results.every(([, r]) => r === 'ok'), checks: Object.fromEntries(results) };
}

async function health(app: FastifyInstance, opts: HealthPluginOptions): Promise<void> {
  const hide = { hide: true } as Record<string, unknown>;
  app.get('/healthz', { schema: hide }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: hide }, async (_request, reply) => {
    const r = await readiness(opts.checks, opts.checkTimeoutMs ?? 2_000);
    if (r.ready) return reply.code(200).send({ status: 'ready', checks: r.checks });
    return reply.code(503).header('retry-after', String(OUTAGE_RETRY_AFTER_SECONDS)).send({ status: 'not ready', checks: r.checks });
  });
}

export default fp(health, { name: 'hearth-health', fastify: '5.x' });
