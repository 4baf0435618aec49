// Pure: how many simulated nodes a pool should add or which it should remove, from its nodes, the
// pods that target it and how long each node has been idle. The cluster-autoscaler's loop in
// small: grow for pods the scheduler could not place (counting nodes already on their way), never
// beyond maxNodeCount; remove nodes idle past the window, never below the floor (minNodeCount, or
// fakeNodePool.numNodes within min..max). Placeholder pods (overprovisioning) count as pods to
// make room for, but a node holding only a placeholder is headroom, not idle.
import type { MachineType } from '../../fleet/machine-types.js';

export interface PoolNodeView {
  name: string;
  ready: boolean;
  /** Being deleted (deletionTimestamp): neither capacity nor a candidate. */
  deleting?: boolean;
}

export interface PoolPodView {
  name: string;
  nodeName?: string;
  /** The scheduler said Unschedulable and nominated no node (a preemptor with a nominated node will fit once its victim is gone). */
  unschedulable: boolean;
  placeholder: boolean;
  /** Done (Succeeded/Failed) or being deleted: holds nothing. */
  finished: boolean;
  gpus: number;
  cpuMilli: number;
}

export interface ScalingInput {
  machine: MachineType;
  min: number;
  max: number;
  baseline?: number;
  nodes: PoolNodeView[];
  pods: PoolPodView[];
  /** node name → since when (ms) it has had no pod at all. */
  idleSince: ReadonlyMap<string, number>;
  now: number;
  idleWindowMs: number;
}

export interface ScalingPlan {
  /** Nodes to add. */
  add: number;
  /** Nodes to delete, by name. */
  remove: string[];
  /** Pending pods no node of this machine type could hold. */
  tooBig: string[];
  /** When an idle node's window ends (ms from now), to look again then. */
  recheckInMs?: number;
}

/** Floor of the pool's size: minNodeCount, raised to fakeNodePool.numNodes (within min..max). */
export function floorOf(min: number, max: number, baseline?: number): number {
  return Math.max(min, Math.min(max, baseline ?? 0));
}

interface Bin {
  gpus: number;
  cpuMilli: number;
}

/** First-fit decreasing of the pods into new empty nodes: how many nodes they need, and those that fit none. */
export function nodesFor(pods: readonly PoolPodView[], machine: MachineType): { nodes: number; tooBig: string[] } {
  const cap: Bin = { gpus: machine.acceleratorCount, cpuMilli: machine.cpu > 0 ? machine.cpu * 1000 : Number.POSITIVE_INFINITY };
  const bins: Bin[] = [];
  const tooBig: string[] = [];
  const sorted = [...pods].sort((a, b) => b.gpus - a.gpus || b.cpuMilli - a.cpuMilli || (a.name < b.name ? -1 : 1));
  for (const p of sorted) {
    if (p.gpus > cap.gpus || p.cpuMilli > cap.cpuMilli) {
      tooBig.push(p.name);
      continue;
    }
    const bin = bins.find((b) => b.gpus >= p.gpus && b.cpuMilli >= p.cpuMilli);
    if (bin) {
      bin.gpus -= p.gpus;
      bin.cpuMilli -= p.cpuMilli;
    } else bins.push({ gpus: cap.gpus - p.gpus, cpuMilli: cap.cpuMilli - p.cpuMilli });
  }
  return { nodes: bins.length, tooBig: tooBig.sort() };
}

export function planScaling(i: ScalingInput): ScalingPlan {
  const live = i.nodes.filter((n) => !n.deleting);
  const floor = floorOf(i.min, i.max, i.baseline);
  const pending = i.pods.filter((p) => !p.finished && !p.nodeName && p.unschedulable);
  const { nodes: needed, tooBig } = nodesFor(pending, i.machine);
  // Nodes created but not Ready yet are on their way: the pods waiting now will land there.
  const upcoming = live.filter((n) => !n.ready).length;
  const grow = Math.max(0, needed - upcoming);
  const target = Math.min(i.max, Math.max(floor, live.length + grow));
  if (target > live.length) return { add: target - live.length, remove: [], tooBig };

  const holding = new Set(i.pods.filter((p) => !p.finished && p.nodeName).map((p) => p.nodeName!));
  const idle = live.filter((n) => n.ready && !holding.has(n.name)).sort((a, b) => (a.name < b.name ? 1 : -1));
  // Above maxNodeCount (it was lowered): idle nodes go now.
  if (live.length > i.max) return { add: 0, remove: idle.slice(0, live.length - i.max).map((n) => n.name), tooBig };
  // Pods still waiting (for a node on its way, or for a preemption): do not shrink under them.
  if (pending.length > 0 || live.length <= floor) return { add: 0, remove: [], tooBig };
  const expired: string[] = [];
  let recheck: number | undefined;
  for (const n of idle) {
    const since = i.idleSince.get(n.name) ?? i.now;
    const left = since + i.idleWindowMs - i.now;
    if (left <= 0) expired.push(n.name);
    else recheck = recheck === undefined ? left : Math.min(recheck, left);
  }
  const remove = expired.slice(0, live.length - floor);
  return { add: 0, remove, tooBig, ...(recheck !== undefined ? { recheckInMs: recheck } : {}) };
}
