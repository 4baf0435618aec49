// Pure: how many simulated nodes a pool should add or which it should remove, from its nodes, the
// pods that target it and how long each node has been idle. The cluster-autoscaler's loop in
// small: grow for pods the scheduler could not place (after packing them into the room left on the
// pool's nodes, Ready or on their way, as the cluster-autoscaler does first), never
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
  /** A preemptor's node: its capacity is spoken for once the victims are gone. */
  nominatedNodeName?: string;
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

function capacityOf(machine: MachineType): Bin {
  return { gpus: machine.acceleratorCount, cpuMilli: machine.cpu > 0 ? machine.cpu * 1000 : Number.POSITIVE_INFINITY };
}

function byDemand(a: PoolPodView, b: PoolPodView): number {
  return b.gpus - a.gpus || b.cpuMilli - a.cpuMilli || (a.name < b.name ? -1 : 1);
}

/** The room each live node has left: its machine's capacity less what its bound or nominated pods hold. */
export function roomOn(nodes: readonly PoolNodeView[], pods: readonly PoolPodView[], machine: MachineType): Bin[] {
  const room = new Map(nodes.map((n) => [n.name, capacityOf(machine)]));
  for (const p of pods) {
    const bin = !p.finished ? room.get(p.nodeName ?? p.nominatedNodeName ?? '') : undefined;
    if (!bin) continue;
    bin.gpus -= p.gpus;
    bin.cpuMilli -= p.cpuMilli;
  }
  return [...room.values()];
}

/** First-fit decreasing of the pods into the given bins (mutated); the pods that fit none are `left`. */
function packInto(pods: readonly PoolPodView[], bins: Bin[]): { left: PoolPodView[] } {
  const left: PoolPodView[] = [];
  for (const p of [...pods].sort(byDemand)) {
    const bin = bins.find((b) => b.gpus >= p.gpus && b.cpuMilli >= p.cpuMilli);
    if (!bin) {
      left.push(p);
      continue;
    }
    bin.gpus -= p.gpus;
    bin.cpuMilli -= p.cpuMilli;
  }
  return { left };
}

/** First-fit decreasing of the pods into new empty nodes: how many nodes they need, and those that fit none. */
export function nodesFor(pods: readonly PoolPodView[], machine: MachineType): { nodes: number; tooBig: string[] } {
  const cap = capacityOf(machine);
  const tooBig = pods.filter((p) => p.gpus > cap.gpus || p.cpuMilli > cap.cpuMilli);
  const bins: Bin[] = [];
  for (const p of [...pods].sort(byDemand)) {
    if (tooBig.includes(p)) continue;
    if (packInto([p], bins).left.length > 0) bins.push({ gpus: cap.gpus - p.gpus, cpuMilli: cap.cpuMilli - p.cpuMilli });
  }
  return { nodes: bins.length, tooBig: tooBig.map((p) => p.name).sort() };
}

export function planScaling(i: ScalingInput): ScalingPlan {
  const live = i.nodes.filter((n) => !n.deleting);
  const floor = floorOf(i.min, i.max, i.baseline);
  const pending = i.pods.filter((p) => !p.finished && !p.nodeName && p.unschedulable);
  // A pod's Unschedulable can be older than the node that now has room for it (a node that just
  // became Ready, a pod that just finished): pack the waiting pods into the room the pool's nodes
  // have left first, nodes on their way included, and grow only for the rest.
  const { left: homeless } = packInto(pending, roomOn(live, i.pods, i.machine));
  const { nodes: grow, tooBig } = nodesFor(homeless, i.machine);
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
