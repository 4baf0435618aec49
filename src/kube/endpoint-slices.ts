// A Deployment's ready replicas as the EndpointSlice controller lists them: the ONE definition the
// gateway (which replica gets a request) and the DeployedModel controller (which replica gets an
// adapter) share. A slice belongs to a hearth Deployment through the `hearth.dev/deployment` label,
// which the Deployment controller puts on the Service and the EndpointSlice controller copies.
import { LABELS } from '../crds/group.js';
import type { ResourceRef } from './kube-source.js';

/** The Service port the model server listens on (the workload's named container port). */
export const MODEL_SERVER_PORT_NAME = 'http';

/** The one watch of Hearth's slices (the gateway and the DeployedModel controller share it). */
export const HEARTH_ENDPOINT_SLICES = {
  group: 'discovery.k8s.io',
  version: 'v1',
  plural: 'endpointslices',
  labelSelector: LABELS.deployment,
} as const satisfies ResourceRef;

/** The fields of a discovery.k8s.io/v1 EndpointSlice Hearth reads. */
export interface EndpointSliceLike {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; deletionTimestamp?: Date | string };
  addressType?: string;
  ports?: Array<{ name?: string; port?: number }> | null;
  endpoints?: Array<{
    addresses?: string[];
    conditions?: { ready?: boolean | null; terminating?: boolean | null } | null;
    targetRef?: { kind?: string; name?: string; uid?: string } | null;
  }> | null;
}

export interface ReadyEndpoint {
  address: string;
  port: number;
  /** The pod behind it (targetRef), when the slice names one. */
  pod?: string;
  podUid?: string;
}

/** The model server's port in a slice: the one named `http`, else the first. */
function slicePort(slice: EndpointSliceLike): number | undefined {
  const ports = slice.ports ?? [];
  return (ports.find((p) => p.name === MODEL_SERVER_PORT_NAME) ?? ports[0])?.port ?? undefined;
}

type SliceEndpoint = NonNullable<EndpointSliceLike['endpoints']>[number];

/** Ready unset counts as ready (the API's rule); terminating never does. */
const isReady = (ep: SliceEndpoint): boolean => ep.conditions?.ready !== false && ep.conditions?.terminating !== true;

function toReady(ep: SliceEndpoint, port: number): ReadyEndpoint | undefined {
  const address = ep.addresses?.[0];
  if (!address || !isReady(ep)) return undefined;
  const ref = ep.targetRef;
  return { address, port, ...(ref?.name ? { pod: ref.name } : {}), ...(ref?.uid ? { podUid: ref.uid } : {}) };
}

/** The ready endpoints of one slice (IPv4/IPv6 slices only; none while the slice is being deleted). */
export function readyEndpoints(slice: EndpointSliceLike): ReadyEndpoint[] {
  if (slice.metadata?.deletionTimestamp) return [];
  if (slice.addressType !== undefined && slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') return [];
  const port = slicePort(slice);
  if (port === undefined) return [];
  return (slice.endpoints ?? []).map((ep) => toReady(ep, port)).filter((e): e is ReadyEndpoint => e !== undefined);
}

/** `namespace/deployment` of the hearth Deployment a slice serves, or undefined. */
export function sliceDeploymentKey(slice: EndpointSliceLike): string | undefined {
  const ns = slice.metadata?.namespace;
  const dep = slice.metadata?.labels?.[LABELS.deployment];
  return ns && dep ? `${ns}/${dep}` : undefined;
}
