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

/**
 * Labels Hearth puts on namespaces, children, pods and nodes, and that other processes select on:
 * the one place their keys are spelled (the controllers write them, metering, the gateway and the
 * REST facade read them).
 */
export const LABELS = {
  /** On account namespaces and on the objects the REST facade creates: the account id. */
  account: `${GROUP}/account`,
  owner: `${GROUP}/owner`,
  /** `MANAGED_BY` on everything Hearth creates (namespaces, workloads, Services, pods). */
  managedBy: 'app.kubernetes.io/managed-by',
  /** On nodes and on model-server pods: the accelerator type, e.g. `NVIDIA_H100_80GB`. */
  acceleratorType: `${GROUP}/accelerator-type`,
  /** On nodes: the Fireworks region name, e.g. `US_VIRGINIA_2`. */
  region: 'topology.kubernetes.io/region',
  /** On model-server pods: the region they were placed in (metering without reading the node). */
  podRegion: `${GROUP}/region`,
  /**
   * The owning hearth.dev Deployment's name, on its children and pods (and copied onto the
   * EndpointSlices of its Service, which is how the gateway finds the replicas).
   */
  deployment: `${GROUP}/deployment`,
  /** On a BatchJob's batch/v1 Job and its pods: the BatchJob's name (the REST facade finds a rank's pod by it). */
  batchJob: `${GROUP}/batch-job`,
} as const;

/** The value of `LABELS.managedBy` on what Hearth creates. */
export const MANAGED_BY = 'hearth';


/**
 * Annotations that carry a request or a fact from one process to another (the REST facade writes
 * most, the controllers and the gateway read them). Times are RFC 3339 (src/util/rfc3339.ts).
 */
export const ANNOTATIONS = {
  /**
   * On a Deployment: RFC 3339 time of a soft delete; its presence means "deleted, recoverable"
   * (removing it undeletes; `kubectl delete` stays a hard delete).
   */
  softDeleteRequested: `${GROUP}/soft-delete-requested`,
  /**
   * On a Deployment: RFC 3339 time of the last `:undelete`. Copied onto the pod template, so an
   * undelete of a FAILED deployment starts fresh pods; the autoscaler restarts its idle clock there.
   */
  undeleteTime: `${GROUP}/undelete-time`,
  /** On a workload: hash of the pod template Hearth built; a new hash means a rollout. */
  templateHash: `${GROUP}/template-hash`,
  /** On Environments and jobs: e-mail of the user whose key created it (wire `createdBy`). */
  createdBy: `${GROUP}/created-by`,
  /** On jobs (BatchJob, SFTJob): RFC 3339 time of the last `:cancel`; presence means "cancel requested". */
  cancelRequested: `${GROUP}/cancel-requested`,
  /** On SFT jobs: RFC 3339 time of the last `:resume`. */
  resumeRequested: `${GROUP}/resume-requested`,
  /** On Environments: RFC 3339 time of the last `:connect`. */
  connectRequested: `${GROUP}/connect-requested`,
  /**
   * On Environments: e-mail of the user whose `:connect` requested the connection; the controller
   * checks that user's node pool binding (the creator's when absent, e.g. a kubectl edit).
   */
  connectedBy: `${GROUP}/connected-by`,
  /** On Environments: `vscodeVersion` of the last `:connect`, when given. */
  vscodeVersion: `${GROUP}/vscode-version`,
  /** On Environments: RFC 3339 time of the last `:disconnect`. */
  disconnectRequested: `${GROUP}/disconnect-requested`,
  /** On Environments: "true" when the last `:disconnect` asked to disconnect even if snapshotting fails. */
  disconnectForce: `${GROUP}/disconnect-force`,
  /** On Environments: "true" when the last `:disconnect` asked to rebuild the snapshot layers. */
  resetSnapshots: `${GROUP}/reset-snapshots`,
  /** On a Deployment, read by the gateway: requests held for it while it has no ready replica. */
  gatewayMaxHeldRequests: `gateway.${GROUP}/max-held-requests`,
  /** On a Deployment, read by the gateway: how long a held request waits, in seconds. */
  gatewayHoldTimeoutSeconds: `gateway.${GROUP}/hold-timeout-seconds`,
  /**
   * On an account namespace, written by Hearth when it creates it: an HMAC of the namespace's name
   * and account with the installation's tenancy secret (src/crds/account.ts `NamespaceSeal`). A
   * namespace's account label counts only with a seal that verifies.
   */
  accountSeal: `${GROUP}/account-seal`,
  /**
   * Never on a stored object: what the namespaces projection (`NamespaceSeal.project`) puts in place
   * of an account label whose seal does not verify, so that readers can tell "claims an account it
   * cannot prove" (ignored, with a warning) from "no account".
   */
  accountUnverified: `${GROUP}/account-unverified`,
} as const;

/**
 * How long a soft-deleted object is kept before it is purged (Fireworks `purgeTime` = `deleteTime`
 * + this). The controller purges at that time and the REST facade reports it; both default here.
 */
export const SOFT_DELETE_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
