// The orphan sweep of deployment quota holds (issue 15 item 10): holds in PostgreSQL whose
// Deployment no longer exists — a finalizer removed by hand, a crash between the API's raise and
// its Kubernetes write, a namespace deleted with its objects — hold GPUs nobody runs. Every
// `intervalMs` (after the caches synced) the sweeper compares every `deployment/<name>` hold with
// the Deployments of the informer cache and frees the ones with no Deployment that nobody wrote for
// `graceMs` (a create the cache has not seen yet is younger than that). Leader only: it is a
// Runnable of the manager, stopped with the lease. Not run with a selector (a shard sees only its
// own Deployments and would free the others').
import type { Logger } from 'pino';
import type { Db } from '../../db/client.js';
import { quotasRepo } from '../../db/index.js';
import type { QuotaHoldRow } from '../../db/schema/index.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import type { Clock, Timer } from '../../util/clock.js';
import type { Runnable } from '../runtime/controller.js';
import { deploymentInformers } from './cache.js';
import { holderOf } from './quota-ledger.js';
import { accountOf } from './reconciler.js';

export const DEFAULT_ORPHAN_SWEEP_INTERVAL_MS = 5 * 60_000;
export const DEFAULT_ORPHAN_GRACE_MS = 10 * 60_000;
const HOLDER_PREFIX = 'deployment/';

/** The holds to free: no live Deployment (`account/holder` in `live`) and unwritten for `graceMs`. */
export function orphanedHolds(holds: readonly QuotaHoldRow[], live: ReadonlySet<string>, now: number, graceMs: number): QuotaHoldRow[] {
  return holds.filter((h) => h.holder.startsWith(HOLDER_PREFIX) && !live.has(`${h.accountId}/${h.holder}`) && now - h.updateTime.getTime() >= graceMs);
}

export interface OrphanHoldSweeperOptions {
  db: Db;
  informers: InformerFactory;
  clock: Clock;
  log: Logger;
  intervalMs?: number;
  graceMs?: number;
  /** How long start() waits for the caches (default 120 s). */
  cacheSyncTimeoutMs?: number;
}

export class OrphanHoldSweeper implements Runnable {
  readonly name = 'deployment-orphan-holds';
  readonly #o: OrphanHoldSweeperOptions;
  readonly #log: Logger;
  readonly #inf: ReturnType<typeof deploymentInformers>;
  readonly #stop = new AbortController();
  #timer: Timer | undefined;
  #running: Promise<unknown> = Promise.resolve();

  constructor(o: OrphanHoldSweeperOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'orphan-holds' });
    this.#inf = deploymentInformers(o.informers);
  }

  async start(): Promise<void> {
    const { deployments, namespaces } = this.#inf;
    for (const i of [deployments, namespaces]) i.start();
    const timeoutMs = this.#o.cacheSyncTimeoutMs ?? 120_000;
    const deadline = new AbortController();
    const onStop = (): void => deadline.abort();
    this.#stop.signal.addEventListener('abort', onStop, { once: true });
    const timer = this.#o.clock.setTimeout(() => deadline.abort(), timeoutMs);
    const synced = await Promise.all([deployments, namespaces].map((i) => i.waitForSync(deadline.signal)));
    this.#o.clock.clearTimeout(timer);
    this.#stop.signal.removeEventListener('abort', onStop);
    if (this.#stop.signal.aborted) return;
    if (!synced.every(Boolean)) throw new Error(`orphan hold sweep: caches did not sync within ${timeoutMs} ms`);
    this.#schedule(0);
  }

  async stop(): Promise<boolean> {
    this.#stop.abort();
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    await this.#running.catch(() => undefined);
    await Promise.all([this.#inf.deployments, this.#inf.namespaces].map((i) => i.stop()));
    return true;
  }

  #schedule(ms: number): void {
    if (this.#stop.signal.aborted) return;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#running = this.sweepOnce()
        .catch((err: unknown) => this.#log.warn({ err }, 'orphan hold sweep failed; retrying at the next interval'))
        .finally(() => this.#schedule(this.#o.intervalMs ?? DEFAULT_ORPHAN_SWEEP_INTERVAL_MS));
    }, ms);
  }

  /** One comparison of holds with live Deployments; returns the holds it freed (`account/holder/quota`). */
  async sweepOnce(): Promise<string[]> {
    const { deployments, namespaces } = this.#inf;
    if (!deployments.hasSynced() || !namespaces.hasSynced()) return [];
    const live = new Set(
      deployments.list().map((d) => `${accountOf(namespaces.get(d.metadata.namespace ?? ''), d.metadata.namespace ?? '')}/${holderOf(d.metadata.name ?? '')}`),
    );
    const now = this.#o.clock.now();
    const holds = await quotasRepo.holdsByHolderPrefix(this.#o.db, HOLDER_PREFIX);
    const freed: string[] = [];
    for (const h of orphanedHolds(holds, live, now, this.#o.graceMs ?? DEFAULT_ORPHAN_GRACE_MS)) {
      if (this.#stop.signal.aborted) break; // lease lost: no more writes
      if (await quotasRepo.releaseHoldIfUnchanged(this.#o.db, h, h.updateTime)) freed.push(`${h.accountId}/${h.holder}/${h.quotaName}`);
    }
    if (freed.length > 0) this.#log.info({ freed }, 'freed quota holds of deployments that no longer exist');
    return freed;
  }
}
