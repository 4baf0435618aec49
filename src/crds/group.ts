// The API group of Hearth's custom resources and the names shared by everything that touches them.

export const GROUP = 'hearth.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;

/** `kubectl get hearth` lists every Hearth kind. */
export const CATEGORY = 'hearth';

/** Field managers for server-side apply: controllers write status, the REST facade writes spec. */
export const FIELD_MANAGER_CONTROLLER = 'hearth-controller';
export const FIELD_MANAGER_API = 'hearth-api';

/** The one finalizer, for state garbage collection cannot reach (quota usage, ledger, nodes). */
export const FINALIZER = `${GROUP}/finalizer`;

/** Labels Hearth puts on namespaces, children and nodes. */
export const LABELS = {
  account: `${GROUP}/account`,
  owner: `${GROUP}/owner`,
  managedBy: 'app.kubernetes.io/managed-by',
  acceleratorType: `${GROUP}/accelerator-type`,
  region: 'topology.kubernetes.io/region',
} as const;
