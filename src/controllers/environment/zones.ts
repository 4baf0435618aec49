// The zone of a node, read once per node from the API server (the controller needs it only when a
// connection becomes CONNECTED, so it keeps no node watch): topology.kubernetes.io/zone, else the
// region label. Nodes do not move between zones; a recreated node of the same name might, so an
// entry lives ZONE_TTL_MS.
import type { V1Node } from '@kubernetes/client-node';
import type { KubeClients } from '../../kube/client.js';
import type { Clock } from '../../util/clock.js';
import { LABELS } from '../../crds/group.js';
import type { NodeZones } from './reconciler.js';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
const ZONE_TTL_MS = 10 * 60_000;
const MAX_ENTRIES = 4096;

/** The zone a node's labels name (zone, else region). */
export function zoneOfLabels(labels: Record<string, string> | undefined): string | undefined {
  return labels?.[ZONE_LABEL] || labels?.[LABELS.region] || undefined;
}

export class KubeNodeZones implements NodeZones {
  readonly #cache = new Map<string, { zone: string | undefined; at: number }>();

  constructor(
    private readonly clients: Pick<KubeClients, 'getJSON'>,
    private readonly clock: Clock,
  ) {}

  async zoneOf(nodeName: string): Promise<string | undefined> {
    const hit = this.#cache.get(nodeName);
    const now = this.clock.now();
    if (hit && now - hit.at < ZONE_TTL_MS) return hit.zone;
    let zone: string | undefined;
    try {
      const node = await this.clients.getJSON<V1Node>(`/api/v1/nodes/${encodeURIComponent(nodeName)}`);
      zone = zoneOfLabels(node.metadata?.labels);
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
    }
    if (this.#cache.size >= MAX_ENTRIES) this.#cache.clear();
    this.#cache.set(nodeName, { zone, at: now });
    return zone;
  }
}
