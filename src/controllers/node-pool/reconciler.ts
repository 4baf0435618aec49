// One pass over a NodePool: finalizer; the pool's shape (shape.ts); its nodes made (simulated),
// adopted (nodeSelector) or asked of Karpenter; the overprovisioning placeholders; the status.
// Being deleted: wait while environments or batch jobs use the pool, then remove what it made.
import type { KubernetesObject, V1Deployment, V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import { accountOfNamespace } from '../../crds/account.js';
import { LABELS, MANAGED_BY } from '../../crds/group.js';
import { NodePoolSpec, type NodePoolStatus } from '../../crds/node-pool.js';
import { gpuQuantity } from '../../fleet/gpus.js';
import { gpuResource, ranksPerNode, type MachineType } from '../../fleet/machine-types.js';
import { NODE_POOL_LABELS } from '../../fleet/node-pools.js';
import { splitKey } from '../../kube/keys.js';
import type { Clock } from '../../util/clock.js';
import type { Lister } from '../runtime/controller.js';
import { EventRecorder } from '../runtime/events.js';
import { OwnWrites, PassObject } from '../runtime/pass.js';
import { inUnverifiedNamespace } from '../runtime/tenancy.js';
import { isNotFound, type ReconcileContext, type Reconciler, type Result } from '../runtime/result.js';
import type { HearthObject, ObjectWriter } from '../runtime/writer.js';
import {
  PLACEHOLDER_LABEL,
  adoptLabels,
  nodeIndex,
  overprovisioningPriorityClass,
  placeholderDeployment,
  placeholderName,
  poolNode,
  taintsWith,
  type PoolRef,
} from './builders.js';
import { karpenterName, karpenterNodePool, karpenterUpToDate, type KarpenterApi } from './karpenter.js';
import type { SelectedNodesApi } from './nodes-api.js';
import { planScaling, type PoolPodView, type ScalingPlan } from './scaling.js';
import { InvalidPool, poolShape, type PoolShape } from './shape.js';
import { computeStatus, eventsFor, type PassOutcome } from './status.js';
import { poolUsage } from './usage.js';

type NodePool = HearthObject<'NodePool'>;

export const FINALIZER = 'hearth.dev/node-pool';
/** How long a simulated node stays without pods before it is removed (above the floor). */
export const DEFAULT_IDLE_WINDOW_MS = 10 * 60_000;
/** How soon a pool being torn down looks again while its nodes are still going. */
const TEARDOWN_RECHECK_MS = 2_000;

export interface Listers {
  nodePools: Lister<NodePool>;
  environments: Lister<HearthObject<'Environment'>>;
  batchJobs: Lister<HearthObject<'BatchJob'>>;
  namespaces: Lister<V1Namespace>;
  nodes: Lister<V1Node>;
  pods: Lister<V1Pod>;
  workloads: Lister<V1Deployment>;
  priorityClasses: Lister<KubernetesObject>;
}

export interface NodePoolReconcilerOptions {
  listers: Listers;
  writer: ObjectWriter;
  karpenter: KarpenterApi;
  selected: SelectedNodesApi;
  clock: Clock;
  idleWindowMs?: number;
  /** The EC2NodeClass Karpenter NodePools refer to. */
  karpenterNodeClass?: string;
}

/**
 * The account of a pool: its namespace's (sealed) account. Never the pool's own `hearth.dev/account`
 * label, which anyone who can write NodePools can set: a pool in a namespace of no account has none.
 */
export function accountOf(pool: NodePool, namespaces: Lister<V1Namespace>): string | undefined {
  return accountOfNamespace(namespaces.get(pool.metadata.namespace ?? ''));
}

/** The nodes carrying the pool's labels (made by Hearth, adopted, or made by Karpenter). */
export function nodesOfPool(nodes: Lister<V1Node>, account: string, pool: string): V1Node[] {
  return nodes.list().filter((n) => n.metadata?.labels?.[NODE_POOL_LABELS.pool] === pool && n.metadata.labels[NODE_POOL_LABELS.account] === account);
}

/** The pods that target the pool: its label, and a nodeSelector of the pool's account (or, without one, the pool's namespace). */
export function podsOfPool(pods: Lister<V1Pod>, pool: PoolRef): V1Pod[] {
  return pods.list().filter((p) => {
    if (p.metadata?.labels?.[NODE_POOL_LABELS.pool] !== pool.name) return false;
    const acc = p.spec?.nodeSelector?.[NODE_POOL_LABELS.account];
    return acc !== undefined ? acc === pool.account : p.metadata.namespace === pool.namespace;
  });
}

function isReadyNode(n: V1Node): boolean {
  return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function isMadeByHearth(n: V1Node): boolean {
  return n.metadata?.labels?.[LABELS.managedBy] === MANAGED_BY;
}

function cpuMilli(q: unknown): number {
  if (typeof q === 'number') return q * 1000;
  if (typeof q !== 'string' || q === '') return 0;
  return q.endsWith('m') ? Number(q.slice(0, -1)) || 0 : Math.ceil((Number(q) || 0) * 1000);
}

export function podView(p: V1Pod, machine: MachineType): PoolPodView {
  const res = gpuResource(machine);
  let gpus = 0;
  let cpu = 0;
  for (const c of p.spec?.containers ?? []) {
    const r = c.resources?.requests ?? {};
    const l = c.resources?.limits ?? {};
    if (res) gpus += gpuQuantity(r[res] ?? l[res]);
    cpu += cpuMilli(r.cpu ?? l.cpu);
  }
  const sched = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
  return {
    name: `${p.metadata?.namespace}/${p.metadata?.name}`,
    ...(p.spec?.nodeName ? { nodeName: p.spec.nodeName } : {}),
    ...(p.status?.nominatedNodeName ? { nominatedNodeName: p.status.nominatedNodeName } : {}),
    unschedulable: sched?.status === 'False' && sched.reason === 'Unschedulable' && !p.status?.nominatedNodeName,
    placeholder: p.metadata?.labels?.[PLACEHOLDER_LABEL] !== undefined,
    finished: p.metadata?.deletionTimestamp !== undefined || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed',
    gpus,
    cpuMilli: cpu,
  };
}

export class NodePoolReconciler implements Reconciler {
  readonly #written = new OwnWrites<NodePool>();
  readonly #events: EventRecorder;
  /** node name → since when it has had no pod (the idle window's start). */
  readonly #idleSince = new Map<string, number>();
  readonly #idleWindowMs: number;

  constructor(private readonly o: NodePoolReconcilerOptions) {
    this.#events = new EventRecorder({ sink: o.writer, clock: o.clock });
    this.#idleWindowMs = o.idleWindowMs ?? DEFAULT_IDLE_WINDOW_MS;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<Result> {
    const read = this.#written.read(key, this.o.listers.nodePools.get(key));
    if (!read) return {};
    const obj = new PassObject(this.o.writer, read);
    try {
      const ns = this.o.listers.namespaces.get(read.metadata.namespace ?? '');
      if (await inUnverifiedNamespace(ns, read, this.#events, ctx.log)) return {};
      const account = accountOf(read, this.o.listers.namespaces);
      if (!account) {
        ctx.log.debug({ key }, 'node pool without an account: not reconciled');
        return {};
      }
      const { namespace = '', name } = splitKey(key);
      return await this.#pass(obj, { namespace, name, uid: String(read.metadata.uid ?? ''), account }, ctx);
    } finally {
      this.#written.remember(key, read, obj);
    }
  }

  async #pass(obj: PassObject<NodePool>, pool: PoolRef, ctx: ReconcileContext): Promise<Result> {
    const cur = obj.current;
    const deleting = cur.metadata.deletionTimestamp !== undefined;
    if (!deleting) await obj.addFinalizer(FINALIZER);
    else if (!(cur.metadata.finalizers as string[] | undefined)?.includes(FINALIZER)) return {};
    const prev = cur.status;
    const usage = poolUsage(pool.name, this.o.listers.environments.list(pool.namespace), this.o.listers.batchJobs.list(pool.namespace));
    const nodes = nodesOfPool(this.o.listers.nodes, pool.account, pool.name);
    const generation = typeof cur.metadata.generation === 'number' ? cur.metadata.generation : undefined;
    const base = { generation, deleting, usage, nodes: { total: nodes.length, ready: nodes.filter(isReadyNode).length } };

    let spec: NodePoolSpec | undefined;
    let shape: PoolShape | undefined;
    let invalid: PassOutcome['invalid'];
    try {
      const parsed = NodePoolSpec.safeParse(cur.spec);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new InvalidPool(issue.path.join('.') || 'spec', issue.message);
      }
      spec = parsed.data;
      shape = poolShape(spec, spec.eksNodePool && !spec.eksNodePool.nodeSelector ? await this.o.karpenter.installed() : false);
    } catch (e) {
      if (!(e instanceof InvalidPool)) throw e;
      invalid = { field: e.field, message: e.message.slice(e.field.length + 2) };
    }
    const min = spec?.minNodeCount ?? 0;
    const perNode = shape && shape.machine.cpu > 0 ? ranksPerNode(shape.machine) : undefined;

    let result: Result = {};
    let tooBig: string[] | undefined;
    let blocked: PassOutcome['blocked'];
    if (deleting) {
      if (usage.users.length === 0 && (await this.#teardown(pool, nodes, spec, ctx))) {
        await obj.removeFinalizer(FINALIZER);
        this.#forgetNodes(nodes);
        return {};
      }
      result = usage.users.length === 0 ? { requeueAfter: TEARDOWN_RECHECK_MS } : {};
    } else if (spec && shape) {
      await this.#placeholders(pool, spec, shape);
      if (shape.provisioning === 'simulated') {
        const plan = this.#plan(pool, spec, shape, nodes);
        tooBig = plan.tooBig;
        await this.#scale(pool, shape, nodes, plan, ctx);
        // The status counts the nodes as this pass leaves them (made, not yet Ready; removed ones gone).
        const removed = new Set(plan.remove);
        const left = nodes.filter((n) => !removed.has(n.metadata?.name ?? ''));
        base.nodes = { total: left.length + plan.add, ready: left.filter(isReadyNode).length };
        if (plan.recheckInMs !== undefined) result = { requeueAfter: plan.recheckInMs };
        if (plan.add > 0 || plan.remove.length > 0) result = { requeueAfter: TEARDOWN_RECHECK_MS };
      } else if (shape.provisioning === 'selected') {
        try {
          const adopted = await this.#adopt(pool, spec.eksNodePool?.nodeSelector ?? {}, nodes);
          base.nodes = { total: adopted.length, ready: adopted.filter(isReadyNode).length };
        } catch (e) {
          if ((e as { code?: number }).code !== 403) throw e;
          blocked = { code: 'PERMISSION_DENIED', reason: 'CannotAdoptNodes', message: 'the controller may not patch nodes: install the chart with nodePools.adoptExistingNodes=true to use eksNodePool.nodeSelector' };
        }
      } else if (shape.provisioning === 'karpenter') {
        await this.#karpenter(pool, spec, shape);
      }
    }
    const outcome: PassOutcome = { ...base, min, ...(invalid ? { invalid } : {}), ...(shape ? { provisioning: shape.provisioning } : {}), ...(perNode !== undefined ? { ranksPerNode: perNode } : {}), ...(tooBig ? { tooBig } : {}), ...(blocked ? { blocked } : {}) };
    const next = computeStatus(prev, outcome, new Date(this.o.clock.now()));
    if (await obj.writeStatus(next as NonNullable<NodePool['status']>)) for (const e of eventsFor(prev as NodePoolStatus | undefined, next)) await this.#events.record(obj.current, e, ctx.log);
    return result;
  }

  #plan(pool: PoolRef, spec: NodePoolSpec, shape: PoolShape, nodes: V1Node[]): ScalingPlan {
    const made = nodes.filter(isMadeByHearth);
    const pods = podsOfPool(this.o.listers.pods, pool).map((p) => podView(p, shape.machine));
    const now = this.o.clock.now();
    const held = new Set(pods.filter((p) => !p.finished && p.nodeName).map((p) => p.nodeName));
    for (const n of made) {
      const name = n.metadata?.name ?? '';
      if (held.has(name) || !isReadyNode(n)) this.#idleSince.delete(name);
      else if (!this.#idleSince.has(name)) this.#idleSince.set(name, now);
    }
    return planScaling({
      machine: shape.machine,
      min: spec.minNodeCount,
      max: spec.maxNodeCount,
      ...(shape.baseline !== undefined ? { baseline: shape.baseline } : {}),
      nodes: made.map((n) => ({ name: n.metadata?.name ?? '', ready: isReadyNode(n), ...(n.metadata?.deletionTimestamp ? { deleting: true } : {}) })),
      pods,
      idleSince: this.#idleSince,
      now,
      idleWindowMs: this.#idleWindowMs,
    });
  }

  async #scale(pool: PoolRef, shape: PoolShape, nodes: V1Node[], plan: ScalingPlan, ctx: ReconcileContext): Promise<void> {
    const used = new Set(nodes.map((n) => nodeIndex(pool.account, pool.name, n.metadata?.name ?? '')).filter((i) => i !== undefined));
    let added = 0;
    for (let i = 0; added < plan.add; i++) {
      if (used.has(i)) continue;
      await this.o.writer.create(poolNode(pool, shape.machine, shape.region ?? '', i));
      added++;
    }
    for (const name of plan.remove) {
      await this.#deleteNode(nodes.find((n) => n.metadata?.name === name));
      this.#idleSince.delete(name);
    }
    if (plan.add > 0 || plan.remove.length > 0) ctx.log.info({ pool: `${pool.namespace}/${pool.name}`, add: plan.add, remove: plan.remove }, 'scaling node pool');
  }

  async #deleteNode(n: V1Node | undefined): Promise<void> {
    if (!n?.metadata?.name || n.metadata.deletionTimestamp) return;
    try {
      await this.o.writer.delete({ apiVersion: 'v1', kind: 'Node', namespace: '', name: n.metadata.name, ...(n.metadata.uid ? { uid: n.metadata.uid } : {}) });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** The PriorityClass (once, cluster-wide) and the placeholder Deployment with overprovisionNodeCount pods. */
  async #placeholders(pool: PoolRef, spec: NodePoolSpec, shape: PoolShape): Promise<void> {
    const n = spec.overprovisionNodeCount;
    const existing = this.o.listers.workloads.get(`${pool.namespace}/${placeholderName(pool.name)}`);
    if (n === 0 || shape.provisioning === 'needsProvisioner') {
      if (existing) await this.#deleteWorkload(existing);
      return;
    }
    const pc = overprovisioningPriorityClass();
    if (!this.o.listers.priorityClasses.get(pc.metadata.name)) {
      try {
        await this.o.writer.create(pc);
      } catch (e) {
        if ((e as { code?: number }).code !== 409) throw e;
      }
    }
    const want = placeholderDeployment(pool, shape.machine, n);
    if (!existing) return this.o.writer.create(want);
    if (!existing.metadata?.ownerReferences?.some((r) => r.uid === pool.uid)) return; // not ours: leave it
    if (JSON.stringify(existing.spec?.replicas) === JSON.stringify(want.spec?.replicas) && JSON.stringify(existing.spec?.template) === JSON.stringify(want.spec?.template)) return;
    await this.o.writer.update({ ...want, metadata: { ...want.metadata, resourceVersion: existing.metadata?.resourceVersion } } as KubernetesObject);
  }

  async #deleteWorkload(d: V1Deployment): Promise<void> {
    try {
      await this.o.writer.delete({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: d.metadata?.namespace ?? '', name: d.metadata?.name ?? '', ...(d.metadata?.uid ? { uid: d.metadata.uid } : {}) });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Labels and taints the selected nodes for the pool; returns them. */
  async #adopt(pool: PoolRef, selector: Record<string, string>, labelled: V1Node[]): Promise<V1Node[]> {
    const selected = await this.o.selected.list(selector);
    for (const n of selected) {
      const labels = n.metadata?.labels ?? {};
      const want = adoptLabels(pool.account, pool.name);
      const labelsOk = Object.entries(want).every(([k, v]) => labels[k] === v);
      const taints = taintsWith(n.spec?.taints, pool.name);
      if (!labelsOk || taints) await this.o.selected.patch(n, labelsOk ? {} : want, taints);
    }
    // Nodes labelled for the pool that the selector no longer matches are released.
    const names = new Set(selected.map((n) => n.metadata?.name));
    for (const n of labelled) if (!isMadeByHearth(n) && !names.has(n.metadata?.name)) await this.#release(pool, n);
    return selected;
  }

  async #release(pool: PoolRef, n: V1Node): Promise<void> {
    try {
      await this.o.selected.patch(n, adoptLabels(pool.account, pool.name, true), taintsWith(n.spec?.taints, pool.name, true));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async #karpenter(pool: PoolRef, spec: NodePoolSpec, shape: PoolShape): Promise<void> {
    const want = karpenterNodePool(pool, spec, shape.machine, { idleWindowMs: this.#idleWindowMs, ...(this.o.karpenterNodeClass ? { nodeClass: this.o.karpenterNodeClass } : {}) });
    const have = await this.o.karpenter.get(want.metadata.name);
    if (!have) return this.o.karpenter.create(want);
    if (karpenterUpToDate(have, want)) return;
    await this.o.karpenter.replace({ ...want, metadata: { ...want.metadata, resourceVersion: have.metadata.resourceVersion } });
  }

  /** Removes what the pool made or adopted; true once its nodes are gone. */
  async #teardown(pool: PoolRef, nodes: V1Node[], spec: NodePoolSpec | undefined, ctx: ReconcileContext): Promise<boolean> {
    const existing = this.o.listers.workloads.get(`${pool.namespace}/${placeholderName(pool.name)}`);
    if (existing) await this.#deleteWorkload(existing);
    if (spec?.eksNodePool && (await this.o.karpenter.installed())) await this.o.karpenter.delete(karpenterName(pool));
    const made = nodes.filter(isMadeByHearth);
    for (const n of nodes) if (!isMadeByHearth(n) && spec?.eksNodePool?.nodeSelector) await this.#release(pool, n);
    for (const n of made) await this.#deleteNode(n);
    if (made.length > 0) ctx.log.info({ pool: `${pool.namespace}/${pool.name}`, nodes: made.length }, 'removing the node pool’s nodes');
    return made.length === 0;
  }

  #forgetNodes(nodes: V1Node[]): void {
    for (const n of nodes) this.#idleSince.delete(n.metadata?.name ?? '');
  }
}
