// The orphan sweep of deployment quota holds (issue 15 item 10): holds in PostgreSQL whose
// Deployment no longer exists — a finalizer removed by hand, a crash between the API's raise and
// its Kubernetes write, a namespace deleted with its objects — hold GPUs nobody runs. Every
// `intervalMs` (after the caches synced) the sweeper compares every `deployment/<name>` hold with
// the Deployments of the informer cache and frees the ones with no Deployment that nobody wrote for
// `graceMs` (a create the cache has not seen yet is younger than that). Leader only: it is a
// Runnable of the manager, stopped with the lease. It is the safety net under the Deployment
// controller's release on delete (no finalizer, see README.md): holds of a deployment deleted while
// no controller ran, or before the leader's first pass of it. A shard (HEARTH_CONTROLLER_SELECTOR)
// caches only its own Deployments, so a sharded manager's sweeper lists every Deployment from the
// API server at each sweep (`listDeployments`) instead of reading the cache: it never frees another
// shard's holds, and the shards do not each watch every Deployment. Several shards' sweepers may
// run at once; a release is guarded by the hold's updateTime, so one of them frees it.
import type { Logger } from 'pino';
import type { Db } from '../../db/client.js';
import { quotasRepo } from '../../db/index.js';
import type { QuotaHoldRow } from '../../db/schema/index.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import type { Clock, Timer } from '../../util/clock.js';
import type { Runnable } from '../runtime/controller.js';
import type { Informer } from '../../kube/informer.js';
import { CustomObjectsApi, type V1Namespace } from '@kubernetes/client-node';
import { DEPLOYMENT } from '../../crds/registry.js';
import type { KubeClients } from '../../kube/client.js';
import type { Deployment } from '../../crds/deployment.js';
import { namespacesInformer } from '../runtime/projections.js';
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
  /**
   * Every hearth.dev Deployment (namespace and name), from the API server: a sharded manager's
   * live set (its cache holds only its shard). Unset: the process's cache of every Deployment.
   */
  listDeployments?: () => Promise<Array<{ namespace: string; name: string }>>;
}

export class OrphanHoldSweeper implements Runnable {
  readonly name = 'deployment-orphan-holds';
  readonly #o: OrphanHoldSweeperOptions;
  readonly #log: Logger;
  /** Every Deployment (unsharded), and the namespaces (the account of each). */
  readonly #inf: { deployments?: Informer<Deployment>; namespaces: Informer<V1Namespace> };
  readonly #stop = new AbortController();
  #timer: Timer | undefined;
  #running: Promise<unknown> = Promise.resolve();

  constructor(o: OrphanHoldSweeperOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'orphan-holds' });
    this.#inf = o.listDeployments
      ? { namespaces: namespacesInformer(o.informers) }
      : { deployments: deploymentInformers(o.informers).deployments, namespaces: namespacesInformer(o.informers) };
  }

  #informers(): Array<Informer<Deployment> | Informer<V1Namespace>> {
    const { deployments, namespaces } = this.#inf;
    return deployments ? [deployments, namespaces] : [namespaces];
  }

  async start(): Promise<void> {
    for (const i of this.#informers()) i.start();
    const timeoutMs = this.#o.cacheSyncTimeoutMs ?? 120_000;
    const deadline = new AbortController();
    const onStop = (): void => deadline.abort();
    this.#stop.signal.addEventListener('abort', onStop, { once: true });
    const timer = this.#o.clock.setTimeout(() => deadline.abort(), timeoutMs);
    const synced = await Promise.all(this.#informers().map((i) => i.waitForSync(deadline.signal)));
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
    await Promise.all(this.#informers().map((i) => i.stop()));
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
    if (!this.#informers().every((i) => i.hasSynced())) return [];
    const { deployments, namespaces } = this.#inf;
    // Holds first: a hold of a deployment created after the live set was read is younger than the grace.
    const now = this.#o.clock.now();
    const holds = await quotasRepo.holdsByHolderPrefix(this.#o.db, HOLDER_PREFIX);
    const names = deployments
      ? deployments.list().map((d) => ({ namespace: d.metadata.namespace ?? '', name: d.metadata.name ?? '' }))
      : await this.#o.listDeployments!();
    const live = new Set(names.map((d) => `${accountOf(namespaces.get(d.namespace), d.namespace)}/${holderOf(d.name)}`));
    const freed: string[] = [];
    for (const h of orphanedHolds(holds, live, now, this.#o.graceMs ?? DEFAULT_ORPHAN_GRACE_MS)) {
      if (this.#stop.signal.aborted) break; // lease lost: no more writes
      if (await quotasRepo.releaseHoldIfUnchanged(this.#o.db, h, h.updateTime)) freed.push(`${h.accountId}/${h.holder}/${h.quotaName}`);
    }
    if (freed.length > 0) this.#log.info({ freed }, 'freed quota holds of deployments that no longer exist');
    return freed;
  }
}

/** Every hearth.dev Deployment's namespace and name, listed from the API server in pages of 500 (a sharded sweeper's live set). */
export function listAllDeployments(clients: KubeClients): () => Promise<Array<{ namespace: string; name: string }>> {
  const custom = clients.api(CustomObjectsApi);
  return async () => {
    const out: Array<{ namespace: string; name: string }> = [];
    let _continue: string | undefined;
    do {
      const page = (await custom.listClusterCustomObject({ group: DEPLOYMENT.group, version: DEPLOYMENT.version, plural: DEPLOYMENT.plural, limit: 500, ...(_continue ? { _continue } : {}) })) as {
        items: Deployment[];
        metadata?: { continue?: string };
      };
      for (const d of page.items) out.push({ namespace: d.metadata.namespace ?? '', name: d.metadata.name ?? '' });
      _continue = page.metadata?.continue || undefined;
    } while (_continue);
    return out;
  };
}
