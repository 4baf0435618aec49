// Names of the children of a hearth.dev Deployment (Knative's `resources/names`): one-line,
// deterministic functions of the owner, so every pass of the reconciler finds the same objects.
import { createHash } from 'node:crypto';
import type { Owner } from '../../runtime/owner-refs.js';

/** DNS-1035 label length limit (Service names, label values). */
export const MAX_NAME_LENGTH = 63;
/** Hex characters of the hash suffix used when a name must be shortened. */
const HASH_LENGTH = 10;
/** Suffix of both children: the apps/v1 Deployment and the Service are `<name>-server`. */
const SERVER_SUFFIX = '-server';

const DNS_LABEL_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/**
 * A DNS-1035 label (≤ 63 chars of a-z 0-9 '-', starting with a letter, ending alphanumeric) made
 * from `base`. A valid name is returned unchanged. Anything else (too long, or with characters a
 * label cannot hold) is sanitised, truncated and suffixed with a hash of the original, so two
 * different inputs never map to the same name and the same input always maps to the same one.
 */
export function dnsLabel(base: string): string {
  if (base.length <= MAX_NAME_LENGTH && DNS_LABEL_RE.test(base)) return base;
  let s = base.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (!/^[a-z]/.test(s)) s = `h-${s}`;
  const hash = createHash('sha256').update(base).digest('hex').slice(0, HASH_LENGTH);
  const head = s.slice(0, MAX_NAME_LENGTH - HASH_LENGTH - 1).replace(/-+$/, '');
  return `${head}-${hash}`;
}

function ownerName(dep: Pick<Owner, 'metadata'>): string {
  const name = dep.metadata.name;
  if (!name) throw new Error('cannot name the children of an object without metadata.name');
  return name;
}

/** The apps/v1 Deployment running the model server. */
export function workload(dep: Pick<Owner, 'metadata'>): string {
  return dnsLabel(`${ownerName(dep)}${SERVER_SUFFIX}`);
}

/** The ClusterIP Service in front of the model-server pods. */
export function service(dep: Pick<Owner, 'metadata'>): string {
  return dnsLabel(`${ownerName(dep)}${SERVER_SUFFIX}`);
}

/**
 * The value of the `hearth.dev/deployment` label: the owner's name when it fits a label value
 * (always, for names the CRD's resource-id rule admits), else its shortened form.
 */
export function deploymentLabelValue(dep: Pick<Owner, 'metadata'>): string {
  return dnsLabel(ownerName(dep));
}
