// What the gateway may dial (issue 15 item 9). Endpoints come only from EndpointSlices that
// Hearth's own Services own: the slice's controller ownerReference is a Service the gateway knows
// by uid (watched with Hearth's labels), and that Service is labelled managed-by hearth, serves the
// same hearth Deployment and is controlled by a hearth.dev Deployment. A slice that anyone else
// made — by hand, or another controller's with a copied label — never reaches the routing table.
// Slices live only in namespaces whose Deployments the catalog routes to (account namespaces):
// routing resolves a model to a hearth Deployment there first, so a slice elsewhere is never used.
//
// Within an admitted slice, addresses outside the pod network are dropped: loopback, link-local
// (169.254/16, fe80::/10, which hold the cloud metadata services), the metadata addresses
// themselves (169.254.169.254, fd00:ec2::254, 100.100.100.200), unspecified, multicast and
// broadcast, also when written as IPv4-mapped IPv6; and anything that is not an IP literal. The
// check is on the address the slice lists for the pod, before any simulation dial map
// (src/kube/dial.ts) turns a simulated pod IP into a loopback fixture.
import { BlockList, isIP } from 'node:net';
import type { Logger } from 'pino';
import { GROUP, LABELS, MANAGED_BY } from '../crds/group.js';
import type { EndpointSliceLike } from '../kube/endpoint-slices.js';
import type { Upstreams } from './upstreams.js';

const FORBIDDEN = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // unspecified / "this network"
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local: 169.254.169.254 (AWS, GCP, Azure metadata) and the rest
  ['224.0.0.0', 4], // multicast
  ['255.255.255.255', 32], // broadcast
  ['100.100.100.200', 32], // Alibaba Cloud metadata
] as const)
  FORBIDDEN.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['fd00:ec2::254', 128], // AWS metadata (IPv6)
] as const)
  FORBIDDEN.addSubnet(net, bits, 'ipv6');

/** Why the gateway must not dial `address`, or undefined when it may (a routable pod IP). */
export function forbiddenAddress(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  // BlockList matches IPv4-mapped IPv6 (::ffff:127.0.0.1) against the IPv4 rules too.
  if (FORBIDDEN.check(address, family === 4 ? 'ipv4' : 'ipv6')) return 'outside the pod network (loopback, link-local, metadata, unspecified, multicast or broadcast)';
  return undefined;
}

/** The fields of a v1 Service the guard reads. */
export interface ServiceLike {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    ownerReferences?: Array<{ apiVersion?: string; kind?: string; name?: string; uid?: string; controller?: boolean }>;
  };
}

type Owned = NonNullable<NonNullable<ServiceLike['metadata']>['ownerReferences']>;
const controllerOf = (refs: Owned | undefined) => refs?.find((r) => r.controller === true);

/** True when `svc` is a Service the Deployment controller made for a hearth Deployment. */
export function isHearthService(svc: ServiceLike): boolean {
  const labels = svc.metadata?.labels ?? {};
  if (labels[LABELS.managedBy] !== MANAGED_BY || !labels[LABELS.deployment]) return false;
  const owner = controllerOf(svc.metadata?.ownerReferences);
  return owner?.kind === 'Deployment' && (owner.apiVersion ?? '').startsWith(`${GROUP}/`);
}

/** The slice's controller ownerReference when it names a v1 Service by uid. */
function serviceRef(refs: Owned | undefined): { name: string | undefined; uid: string } | undefined {
  const ref = controllerOf(refs);
  if (ref?.kind !== 'Service' || ref.apiVersion !== 'v1' || !ref.uid) return undefined;
  return { name: ref.name, uid: ref.uid };
}

/** The Service named by the slice's owner reference, in its namespace, for its Deployment. */
function servesSlice(svc: ServiceLike, name: string | undefined, slice: EndpointSliceLike): boolean {
  const m = svc.metadata ?? {};
  const s = slice.metadata ?? {};
  return m.namespace === s.namespace && m.name === name && m.labels?.[LABELS.deployment] === s.labels?.[LABELS.deployment];
}

const sliceKey = (s: { metadata?: { namespace?: string; name?: string } }) => `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`;

/** Feeds Upstreams only with what may be dialled; re-decides when Services come and go. */
export class EndpointGuard {
  /** Hearth's Services by uid. */
  readonly #services = new Map<string, ServiceLike>();
  readonly #slices = new Map<string, EndpointSliceLike & { metadata?: { ownerReferences?: Owned } }>();
  readonly #warned = new Set<string>();

  constructor(
    private readonly upstreams: Upstreams,
    private readonly log: Pick<Logger, 'warn'>,
  ) {}

  upsertService(svc: ServiceLike): void {
    const uid = svc.metadata?.uid;
    if (!uid) return;
    if (isHearthService(svc)) this.#services.set(uid, svc);
    else this.#services.delete(uid);
    this.#revisit(uid);
  }

  deleteService(svc: ServiceLike): void {
    const uid = svc.metadata?.uid;
    if (!uid) return;
    this.#services.delete(uid);
    this.#revisit(uid);
  }

  upsertSlice(slice: EndpointSliceLike): void {
    this.#slices.set(sliceKey(slice), slice);
    this.#decide(slice);
  }

  deleteSlice(slice: EndpointSliceLike): void {
    this.#slices.delete(sliceKey(slice));
    this.#warned.delete(sliceKey(slice));
    this.upstreams.deleteSlice(slice);
  }

  /** The Service that owns `slice` when it is Hearth's and serves the slice's Deployment. */
  owner(slice: EndpointSliceLike & { metadata?: { ownerReferences?: Owned } }): ServiceLike | undefined {
    const ref = serviceRef(slice.metadata?.ownerReferences);
    const svc = ref ? this.#services.get(ref.uid) : undefined;
    return svc && ref && servesSlice(svc, ref.name, slice) ? svc : undefined;
  }

  #revisit(uid: string): void {
    for (const s of this.#slices.values()) if (s.metadata?.ownerReferences?.some((r) => r.uid === uid)) this.#decide(s);
  }

  #decide(slice: EndpointSliceLike): void {
    const key = sliceKey(slice);
    if (!this.owner(slice)) {
      this.#warnOnce(key, { slice: key }, 'EndpointSlice not owned by a Hearth Service: its endpoints are not used');
      this.upstreams.deleteSlice(slice);
      return;
    }
    const refused: string[] = [];
    const endpoints = (slice.endpoints ?? []).filter((ep) => {
      const bad = (ep.addresses ?? []).find((a) => forbiddenAddress(a) !== undefined);
      if (bad !== undefined) refused.push(bad);
      return bad === undefined;
    });
    if (refused.length > 0) this.#warnOnce(key, { slice: key, refused }, 'EndpointSlice lists addresses outside the pod network: not dialled');
    else this.#warned.delete(key);
    this.upstreams.upsertSlice({ ...slice, endpoints });
  }

  #warnOnce(key: string, fields: Record<string, unknown>, msg: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.log.warn(fields, msg);
  }
}
