// What a chaos test checks once Hearth has had time to converge after a kill or an outage: the
// invariants of issue 15's crash test over one account namespace, its scratch database and the
// usage ledger. Everything is read fresh (LIST from the API server, SELECT from PostgreSQL).
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Deployment, type V1OwnerReference, type V1Service } from '@kubernetes/client-node';
import { eq } from 'drizzle-orm';
import { footprintOf } from '../../src/controllers/deployment/reconciler.js';
import type { Deployment } from '../../src/crds/deployment.js';
import { ANNOTATIONS, GROUP, VERSION } from '../../src/crds/group.js';
import type { Db } from '../../src/db/client.js';
import { holdsByHolderPrefix } from '../../src/db/repositories/quotas.js';
import { usageLedger } from '../../src/db/schema/index.js';

export interface ClusterState {
  deployments: Deployment[];
  workloads: V1Deployment[];
  services: V1Service[];
  holds: Array<{ holder: string; quotaName: string; amount: number; generation: number | null; updateTime: Date }>;
}

export async function readState(kc: KubeConfig, db: Db, namespace: string, account: string): Promise<ClusterState> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const [deps, w, s, holds] = await Promise.all([
    custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'deployments' }) as Promise<{ items: Deployment[] }>,
    kc.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace }),
    kc.makeApiClient(CoreV1Api).listNamespacedService({ namespace }),
    holdsByHolderPrefix(db, 'deployment/'),
  ]);
  return {
    deployments: deps.items,
    workloads: w.items,
    services: s.items,
    holds: holds.filter((h) => h.accountId === account).map(({ holder, quotaName, amount, generation, updateTime }) => ({ holder, quotaName, amount, generation, updateTime })),
  };
}

const controlledBy = (o: { metadata?: { ownerReferences?: V1OwnerReference[] } }, uid: string | undefined): boolean =>
  (o.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.uid === uid);

/**
 * The crash test's invariants; [] when they all hold:
 * - a live Deployment: its status observed its generation; exactly one workload and one Service it
 *   controls; its quota holds equal its workload's footprint (replicas × GPUs, per quota);
 * - a soft-deleted one: DELETED, no workload, no holds;
 * - nothing being deleted (no finalizer stuck), no hold without a Deployment (no orphan), no
 *   Hearth child whose owner is gone.
 */
export function invariantViolations(s: ClusterState): string[] {
  const out: string[] = [];
  const byHolder = new Map<string, Record<string, number>>();
  for (const h of s.holds) byHolder.set(h.holder, { ...byHolder.get(h.holder), [h.quotaName]: h.amount });
  const names = new Set<string>();
  for (const d of s.deployments) {
    const name = d.metadata.name!;
    names.add(name);
    const uid = d.metadata.uid as string | undefined;
    const holds = byHolder.get(`deployment/${name}`) ?? {};
    const workloads = s.workloads.filter((w) => controlledBy(w, uid));
    const services = s.services.filter((x) => controlledBy(x, uid));
    if (d.metadata.deletionTimestamp) {
      out.push(`${name}: being deleted since ${String(d.metadata.deletionTimestamp)} (finalizers ${JSON.stringify(d.metadata.finalizers)})`);
      continue;
    }
    if (d.status?.observedGeneration !== d.metadata.generation) out.push(`${name}: status observed generation ${d.status?.observedGeneration}, object is at ${d.metadata.generation}`);
    if (d.metadata.annotations?.[ANNOTATIONS.softDeleteRequested] !== undefined) {
      if (d.status?.state !== 'DELETED') out.push(`${name}: soft-deleted but ${d.status?.state}`);
      if (workloads.length > 0) out.push(`${name}: soft-deleted but has ${workloads.length} workload(s)`);
      if (Object.keys(holds).length > 0) out.push(`${name}: soft-deleted but holds ${JSON.stringify(holds)}`);
      continue;
    }
    if (workloads.length !== 1) out.push(`${name}: ${workloads.length} workloads`);
    if (services.length !== 1) out.push(`${name}: ${services.length} Services`);
    const footprint = workloads.length === 1 ? footprintOf(workloads[0]!) : {};
    if (!sameAmounts(holds, footprint)) out.push(`${name}: holds ${JSON.stringify(holds)}, footprint ${JSON.stringify(footprint)} (state ${d.status?.state}, generation ${d.metadata.generation}, hold generations ${JSON.stringify(s.holds.filter((h) => h.holder === `deployment/${name}`).map((h) => h.generation))})`);
  }
  for (const h of s.holds) if (!names.has(h.holder.slice('deployment/'.length))) out.push(`orphaned hold ${h.holder} ${h.quotaName}=${h.amount} (written ${h.updateTime.toISOString()})`);
  const uids = new Set(s.deployments.map((d) => d.metadata.uid));
  for (const c of [...s.workloads, ...s.services]) {
    const owner = c.metadata?.ownerReferences?.find((r) => r.controller === true && r.kind === 'Deployment' && r.apiVersion.startsWith(`${GROUP}/`));
    if (owner && !uids.has(owner.uid)) out.push(`${c.kind ?? 'child'} ${c.metadata?.name}: its Deployment ${owner.name} is gone`);
  }
  return out;
}

function sameAmounts(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (Math.abs((a[k] ?? 0) - (b[k] ?? 0)) > 1e-9) return false;
  return true;
}

/** The ledger of one account: no interval of a replica twice or overlapping, every row aligned and within its interval. */
export async function ledgerViolations(db: Db, account: string, intervalMs: number): Promise<{ violations: string[]; rows: number }> {
  const rows = await db.select().from(usageLedger).where(eq(usageLedger.accountId, account));
  const out: string[] = [];
  const starts = new Map<string, number[]>();
  for (const r of rows) {
    const s = r.intervalStart.getTime();
    if (s % intervalMs !== 0) out.push(`${r.replica}: interval not aligned ${r.intervalStart.toISOString()}`);
    if (r.intervalEnd.getTime() > s + intervalMs) out.push(`${r.replica}: row longer than an interval at ${r.intervalStart.toISOString()}`);
    if (r.gpuSeconds > (intervalMs / 1000) * r.acceleratorCount + 1e-9) out.push(`${r.replica}: ${r.gpuSeconds} GPU-s in one interval of ${r.acceleratorCount} GPU(s)`);
    starts.set(r.replica, [...(starts.get(r.replica) ?? []), s]);
  }
  for (const [replica, ss] of starts) {
    ss.sort((a, b) => a - b);
    for (let i = 1; i < ss.length; i++) if (ss[i]! - ss[i - 1]! < intervalMs) out.push(`${replica}: intervals overlap at ${new Date(ss[i]!).toISOString()}`);
  }
  return { violations: out, rows: rows.length };
}

/** A compact picture of the state for a failure message. */
export function describeState(s: ClusterState): unknown {
  return {
    deployments: s.deployments.map((d) => ({
      name: d.metadata.name,
      gen: d.metadata.generation,
      observed: d.status?.observedGeneration,
      state: d.status?.state,
      deletion: d.metadata.deletionTimestamp,
      finalizers: d.metadata.finalizers,
      softDelete: d.metadata.annotations?.[ANNOTATIONS.softDeleteRequested],
      spec: { min: d.spec.minReplicaCount, max: d.spec.maxReplicaCount, replicas: (d.spec as { replicaCount?: number }).replicaCount },
      conditions: d.status?.conditions?.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message ?? ''}`.slice(0, 300)),
    })),
    workloads: s.workloads.map((w) => ({ name: w.metadata?.name, replicas: w.spec?.replicas, owner: w.metadata?.ownerReferences?.[0]?.name })),
    services: s.services.map((x) => ({ name: x.metadata?.name, owner: x.metadata?.ownerReferences?.[0]?.name })),
    holds: s.holds,
  };
}
