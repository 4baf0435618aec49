// The quota ledger: GPU quota as the Deployment reconciler sees it — how much of `<accelerator>-<region>` this
// deployment may hold, and the hold itself. PostgreSQL is the arbiter (src/db quota holds: a row
// lock per quota, so two deployments never oversubscribe it, whichever replica or path writes).
import { DEFAULT_QUOTAS } from '../../fleet/catalog.js';
import { accountsRepo, quotasRepo, type Db } from '../../db/index.js';
import type { Clock } from '../../util/clock.js';

export interface GpuQuota {
  /** The enforced value of the quota. */
  limit: number;
  /** What other holders hold of it. This deployment may hold `limit − heldByOthers`. */
  heldByOthers: number;
  /** What this holder holds now, of every quota of the account (quota name → amount). */
  mine: Record<string, number>;
  /** Set when the numbers are not from the database (e.g. the account has no row there). */
  note?: string;
}

export interface QuotaLedger {
  /** True when holds are recorded outside the cluster: the reconciler releases them when a deployment is deleted. */
  readonly tracksHolds: boolean;
  gpuQuota(account: string, quotaName: string, holder: string): Promise<GpuQuota>;
  /**
   * Makes `holder` hold exactly `targets` (quota name → GPUs) and nothing else, all or nothing.
   * Throws (QuotaExceededError) when an increase does not fit: another holder took the room.
   * `generation`: the spec generation the targets were computed for; a hold the API raised for a
   * newer generation is then not lowered (src/db/repositories/quotas.ts generationTarget).
   */
  setHolds(account: string, holder: string, targets: Record<string, number>, opts?: { generation?: number }): Promise<SetHoldsResult | void>;
  releaseAll(account: string, holder: string): Promise<void>;
  /** A sentence when the account's monthly GPU-hours are spent (no scaling up), else undefined. */
  gpuHoursSpent(account: string): Promise<string | undefined>;
}

export interface SetHoldsResult {
  /**
   * A hold raised for a newer generation was kept above its target (the API's raise for a spec
   * this pass has not seen): look again once it is older than the grace, when it counts no more.
   */
  keptNewer: boolean;
}

/** When to look again at a hold kept for a newer generation: just after the grace has passed. */
export const NEWER_HOLD_RECHECK_MS = quotasRepo.NEWER_GENERATION_GRACE_MS + 1000;

/** The holder name of a deployment's quota holds (src/db README: `deployment/<name>`). */
export function holderOf(name: string): string {
  return `deployment/${name}`;
}

const ACCOUNT_CACHE_MS = 30_000;

/**
 * Quotas in PostgreSQL through src/db. An account without a row in the database (a namespace made
 * with kubectl for an account the API never created) cannot hold quota rows: such a deployment is
 * limited to the catalog's default per-region GPU quota on its own, and the condition says so.
 */
export class DbQuotaLedger implements QuotaLedger {
  readonly tracksHolds = true;
  readonly #db: Db;
  readonly #clock: Clock;
  readonly #known = new Map<string, number>();
  readonly #asking = new Map<string, Promise<boolean>>();

  constructor(db: Db, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  async #accountExists(account: string): Promise<boolean> {
    const seen = this.#known.get(account);
    if (seen !== undefined && this.#clock.now() - seen < ACCOUNT_CACHE_MS) return true;
    // Calls made together (a pass asks for the quota and the GPU-hours at once) share one query.
    let asking = this.#asking.get(account);
    if (!asking) {
      asking = accountsRepo.getAccount(this.#db, account).then((row) => {
        if (row !== undefined) this.#known.set(account, this.#clock.now());
        else this.#known.delete(account);
        return row !== undefined;
      });
      this.#asking.set(account, asking);
      void asking.then(
        () => this.#asking.delete(account),
        () => this.#asking.delete(account),
      );
    }
    return asking;
  }

  async gpuQuota(account: string, quotaName: string, holder: string): Promise<GpuQuota> {
    if (!(await this.#accountExists(account))) {
      const def = quotasRepo.defaultQuotaFor(quotaName)?.value ?? DEFAULT_QUOTAS.gpusPerAcceleratorType;
      return { limit: def, heldByOthers: 0, mine: {}, note: `account ${account} has no quota records; the catalog default of ${def} GPUs applies to this deployment alone` };
    }
    const now = new Date(this.#clock.now());
    const [quota, holds] = await Promise.all([quotasRepo.getQuota(this.#db, account, quotaName, now), quotasRepo.holdsOf(this.#db, account, holder)]);
    const mine = Object.fromEntries(holds.map((h) => [h.quotaName, h.amount]));
    if (!quota) return { limit: 0, heldByOthers: 0, mine, note: `quota ${quotaName} does not exist for account ${account}` };
    return { limit: quota.value, heldByOthers: Math.max(0, quota.usage - (mine[quotaName] ?? 0)), mine };
  }

  async setHolds(account: string, holder: string, targets: Record<string, number>, opts: { generation?: number } = {}): Promise<SetHoldsResult | void> {
    if (!(await this.#accountExists(account))) return;
    const positive = Object.fromEntries(Object.entries(targets).filter(([, n]) => n > 0));
    const changes = await quotasRepo.setHolds(this.#db, account, holder, positive, { ...opts, now: new Date(this.#clock.now()) });
    return { keptNewer: changes.some((c) => c.held > (positive[c.quota.name] ?? 0)) };
  }

  async releaseAll(account: string, holder: string): Promise<void> {
    if (!(await this.#accountExists(account))) return;
    await quotasRepo.setHolds(this.#db, account, holder, {});
  }

  async gpuHoursSpent(account: string): Promise<string | undefined> {
    if (!(await this.#accountExists(account))) return undefined;
    const q = await quotasRepo.getQuota(this.#db, account, quotasRepo.MONTHLY_GPU_HOURS_QUOTA, new Date(this.#clock.now()));
    if (!q || q.usage < q.value) return undefined;
    return `the monthly GPU-hours quota of account ${account} is spent (${Math.round(q.usage)} of ${q.value} hours)`;
  }
}

/** A ledger write refused because the controller lost its lease (its reconciles were aborted). */
export class LeaseLostError extends Error {
  constructor() {
    super('the controller lost its lease: no more quota writes from this replica');
    this.name = 'LeaseLostError';
  }
}

/**
 * The ledger as one reconcile sees it: once `signal` aborts (the manager aborts every reconcile
 * when the lease is lost), every write throws LeaseLostError instead of reaching PostgreSQL, so a
 * deposed leader never undoes what the new leader holds. Reads stay allowed.
 */
export function fencedLedger(ledger: QuotaLedger, signal: AbortSignal | undefined): QuotaLedger {
  if (!signal) return ledger;
  const guard = (): void => {
    if (signal.aborted) throw new LeaseLostError();
  };
  return {
    tracksHolds: ledger.tracksHolds,
    gpuQuota: (account, quotaName, holder) => ledger.gpuQuota(account, quotaName, holder),
    gpuHoursSpent: (account) => ledger.gpuHoursSpent(account),
    setHolds: async (account, holder, targets, opts) => {
      guard();
      return ledger.setHolds(account, holder, targets, opts);
    },
    releaseAll: async (account, holder) => {
      guard();
      await ledger.releaseAll(account, holder);
    },
  };
}
