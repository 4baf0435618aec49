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

/** The ready endpoints of one slice. Ready unset counts as ready (the API's rule). */
export function readyEndpoints(slice: EndpointSliceLike): ReadyEndpoint[] {
  if (slice.metadata?.deletionTimestamp) return [];
  if (slice.addressType !== undefined && slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') return [];
  const ports = slice.ports ?? [];
  const port = (ports.find((p) => p.name === MODEL_SERVER_PORT_NAME) ?? ports[0])?.port;
  if (port === undefined || port === null) return [];
  const out: ReadyEndpoint[] = [];
  for (const ep of slice.endpoints ?? []) {
    const address = ep.addresses?.[0];
    if (!address || ep.conditions?.ready === false || ep.conditions?.terminating === true) continue;
    const ref = ep.targetRef;
    out.push({ address, port, ...(ref?.name ? { pod: ref.name } : {}), ...(ref?.uid ? { podUid: ref.uid } : {}) });
  }
  return out;
}

/** `namespace/deployment` of the hearth Deployment a slice serves, or undefined. */
export function sliceDeploymentKey(slice: EndpointSliceLike): string | undefined {
  const ns = slice.metadata?.namespace;
  const dep = slice.metadata?.labels?.[LABELS.deployment];
  return ns && dep ? `${ns}/${dep}` : undefined;
}
