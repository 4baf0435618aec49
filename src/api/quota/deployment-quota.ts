// The API's quota check for deployments (create, update, `:scale`, undelete): the GPUs a
// deployment must run (src/fleet/gpus.ts requiredGpus) — acceleratorCount (1 when unset: the least it can need) × the replicas it
// must keep (minReplicaCount, or the fixed replicaCount) — against the per-region, per-accelerator
// quota (`h100-us-virginia-2`).
//
// - Region known (placement.region, or the region the controller placed it in): the GPUs are
//   reserved in PostgreSQL for holder `deployment/<id>` in one locked transaction, so concurrent
//   creates never oversubscribe. The API only ever raises a hold, tagged with the generation the
//   spec will have; the controller's setHolds keeps it equal to what runs (and lowers it), but
//   never below a raise for a newer generation than the one it reconciles. A raise whose
//   Kubernetes write fails is given back (`giveBackRaise`).
// - Region not chosen yet: at least one allowed region must have room; nothing is held (the
//   controller reserves where it places the deployment).
// Over quota → 429 RESOURCE_EXHAUSTED naming the quota.
import type { Db } from '../../db/client.js';
import { QuotaExceededError } from '../../db/errors.js';
import { quotaName as fullQuotaName } from '../../db/repositories/names.js';
import { getQuota, giveBackRaise, raiseHold, releaseAll, type Raise } from '../../db/repositories/quotas.js';
import { gpuQuotaName, isAcceleratorType, isRegion, regionsOffering, type AcceleratorType } from '../../fleet/catalog.js';
import { requiredGpus } from '../../fleet/gpus.js';
import { multiRegionFilter } from '../../fleet/multi-region.js';
import { DEPLOYMENT_DEFAULTS, type DeploymentSpec } from '../../crds/deployment.js';

export function holderOf(deploymentId: string): string {
  return `deployment/${deploymentId}`;
}

/** Regions the deployment may be placed in that offer its accelerator. */
export function candidateRegions(acc: AcceleratorType, placement: DeploymentSpec['placement']): string[] {
  const offering: string[] = regionsOffering(acc);
  if (placement?.region) return [placement.region];
  if (placement?.regions) return offering.filter((r) => placement.regions!.includes(r as never));
  const within = multiRegionFilter(placement?.multiRegion);
  return within ? offering.filter(within) : offering;
}

export interface QuotaCheck {
  accountId: string;
  deploymentId: string;
  spec: DeploymentSpec;
  /** The region it runs in, if placed (status.region). */
  placedRegion?: string;
  /** The metadata.generation the spec will have once written (create: 1; an update: the current + 1). */
  generation?: number;
  /** Check only; hold nothing (validateOnly). */
  dryRun?: boolean;
}

/**
 * Reserves (or, dry, checks) the GPUs of a deployment. Throws QuotaExceededError naming the quota.
 * Accelerators outside the fleet catalog are left to the controller (it reports them unplaceable).
 */
export async function reserveDeploymentGpus(db: Db, c: QuotaCheck): Promise<Raise | undefined> {
  const acc = c.spec.acceleratorType ?? DEPLOYMENT_DEFAULTS.acceleratorType;
  if (!isAcceleratorType(acc)) return;
  const gpus = requiredGpus(c.spec);
  // Nothing to reserve (scale-to-zero minimum), and the API never lowers a hold: no query at all.
  if (gpus === 0) return;
  const region = c.placedRegion ?? c.spec.placement?.region;
  if (region !== undefined) {
    const quota = gpuQuotaName(acc, region);
    if (c.dryRun) return void (await assertRoom(db, c.accountId, quota, gpus));
    // Never lower what the deployment holds: the controller holds what runs (autoscaled above the
    // minimum, or mid-move between accelerator types) and lowers holds itself. The raise carries the
    // generation the spec will have, so a controller pass on the older spec cannot lower it.
    return raiseHold(db, { accountId: c.accountId, quotaName: quota, holder: holderOf(c.deploymentId) }, gpus, c.generation ?? 1);
  }
  const regions = candidateRegions(acc, c.spec.placement).filter(isRegion);
  let first: QuotaExceededError | undefined;
  for (const r of regions) {
    try {
      await assertRoom(db, c.accountId, gpuQuotaName(acc, r), gpus);
      return;
    } catch (e) {
      if (!(e instanceof QuotaExceededError)) throw e;
      first ??= e;
    }
  }
  if (first) throw first;
  return undefined;
}

async function assertRoom(db: Db, accountId: string, quota: string, gpus: number): Promise<void> {
  if (gpus === 0) return;
  const q = await getQuota(db, accountId, quota);
  if (!q) return;
  if (q.usage + gpus > q.value) throw new QuotaExceededError(fullQuotaName(accountId, quota), gpus, q.usage, q.value);
}

export { giveBackRaise, type Raise };

/** Gives back everything a deployment holds (hard or soft delete, failed create). */
export async function releaseDeploymentGpus(db: Db, accountId: string, deploymentId: string): Promise<void> {
  await releaseAll(db, accountId, holderOf(deploymentId));
}
