// Every API write the Deployment reconciler makes goes through this small interface, so unit
// tests can record them ("given these objects, expect exactly these writes", sample-controller's
// fixture) and the real one can be rate-limited in one place (KubeClients).
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type KubernetesObjectApi,
} from '@kubernetes/client-node';
import { FIELD_MANAGER_CONTROLLER, GROUP, VERSION } from '../../crds/group.js';
import type { Deployment, DeploymentStatus } from '../../crds/deployment.js';
import type { KubeClients } from '../../kube/client.js';

/** A hearth.dev Deployment as the informer holds it: raw JSON, status possibly absent. */
export type DeploymentObject = Omit<Deployment, 'status'> & { status?: DeploymentStatus };

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  /** Delete only this incarnation (a precondition on uid). */
  uid?: string;
}

export interface DeploymentEvent {
  type: 'Normal' | 'Warning';
  /** CamelCase, as condition reasons. */
  reason: string;
  message: string;
}

export interface DeploymentWriter {
  /** Creates a child; fails with 409 if an object of that name exists (never takes one over). */
  create(obj: KubernetesObject): Promise<void>;
  /**
   * Replaces a child we own with `obj` (PUT). `metadata.resourceVersion` must be the version the
   * decision was made on: the API server refuses the write (409) if the object changed meanwhile,
   * e.g. was deleted and recreated by someone else. A replace, not a server-side apply: the
   * children are created with POST (which must fail on an existing object), and an apply would
   * not remove fields that create recorded under another operation (a GPU resource of the old
   * accelerator type stayed in the pod template beside the new one).
   */
  update(obj: KubernetesObject): Promise<void>;
  delete(ref: ObjectRef): Promise<void>;
  /** Writes the status subresource of `dep` (guarded by its resourceVersion). */
  updateStatus(dep: DeploymentObject, status: DeploymentStatus): Promise<DeploymentObject>;
  /** Sets metadata.finalizers (guarded by the resourceVersion: never clobbers another writer's list). */
  setFinalizers(dep: DeploymentObject, finalizers: string[]): Promise<DeploymentObject>;
  /** Records a core/v1 Event about `dep` (`kubectl describe` shows it). */
  event(dep: DeploymentObject, e: DeploymentEvent): Promise<void>;
}

/** Who reports the events. */
export const EVENT_SOURCE = 'hearth-deployment-controller';

const PLURAL = 'deployments';

/** The writer on a real API server, through the shared rate-limited clients. */
export class KubeDeploymentWriter implements DeploymentWriter {
  readonly #objects: KubernetesObjectApi;
  readonly #custom: CustomObjectsApi;
  readonly #core: CoreV1Api;

  constructor(
    clients: KubeClients,
    private readonly now: () => number = Date.now,
  ) {
    this.#objects = clients.objects();
    this.#custom = clients.api(CustomObjectsApi);
    this.#core = clients.api(CoreV1Api);
  }

  async event(dep: DeploymentObject, e: DeploymentEvent): Promise<void> {
    const { namespace, name, uid, resourceVersion } = dep.metadata as { namespace: string; name: string; uid?: string; resourceVersion?: string };
    const at = new Date(this.now());
    await this.#core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${name}.`, namespace },
        involvedObject: { apiVersion: dep.apiVersion, kind: dep.kind, namespace, name, uid, resourceVersion },
        type: e.type,
        reason: e.reason,
        message: e.message.slice(0, 1024),
        source: { component: EVENT_SOURCE },
        reportingComponent: `hearth.dev/${EVENT_SOURCE}`,
        reportingInstance: EVENT_SOURCE,
        firstTimestamp: at,
        lastTimestamp: at,
        count: 1,
      },
    });
  }

  async create(obj: KubernetesObject): Promise<void> {
    await this.#objects.create(obj, undefined, undefined, FIELD_MANAGER_CONTROLLER);
  }

  async update(obj: KubernetesObject): Promise<void> {
    await this.#objects.replace(obj, undefined, undefined, FIELD_MANAGER_CONTROLLER);
  }

  async delete(ref: ObjectRef): Promise<void> {
    const body = { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background', ...(ref.uid ? { preconditions: { uid: ref.uid } } : {}) };
    await this.#objects.delete(
      { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { namespace: ref.namespace, name: ref.name } },
      undefined,
      undefined,
      undefined,
      undefined,
      'Background',
      body,
    );
  }

  async updateStatus(dep: DeploymentObject, status: DeploymentStatus): Promise<DeploymentObject> {
    const { namespace, name } = dep.metadata as { namespace: string; name: string };
    const body = { ...dep, status };
    return (await this.#custom.replaceNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body })) as DeploymentObject;
  }

  async setFinalizers(dep: DeploymentObject, finalizers: string[]): Promise<DeploymentObject> {
    const { namespace, name, resourceVersion } = dep.metadata as { namespace: string; name: string; resourceVersion?: string };
    const body = { metadata: { resourceVersion, finalizers } };
    return (await this.#custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as DeploymentObject;
  }
}
