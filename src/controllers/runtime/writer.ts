// Every API write a reconciler makes goes through this small interface, so unit tests can record
// them ("given these objects, expect exactly these writes", sample-controller's fixture; see
// fake-cluster.ts) and the real one is rate-limited in one place (KubeClients). One writer serves
// every kind: the six hearth.dev kinds (their REST paths come from the kind registry,
// src/crds/registry.ts) and the children controllers make (apps/v1, core/v1, …).
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type KubernetesObject,
  type KubernetesObjectApi,
} from '@kubernetes/client-node';
import type { BatchInferenceJob } from '../../crds/batch-inference-job.js';
import type { BatchJob } from '../../crds/batch-job.js';
import type { DeployedModel } from '../../crds/deployed-model.js';
import type { Deployment } from '../../crds/deployment.js';
import type { Environment } from '../../crds/environment.js';
import { FIELD_MANAGER_CONTROLLER, GROUP } from '../../crds/group.js';
import type { NodePool } from '../../crds/node-pool.js';
import { kindInfo, type KindInfo, type KindName } from '../../crds/registry.js';
import type { SFTJob } from '../../crds/sft-job.js';
import type { KubeClients } from '../../kube/client.js';
import { isNotFound } from './result.js';

/** The TypeScript type of each hearth.dev kind, by the registry's kind name. */
export interface HearthKinds {
  Deployment: Deployment;
  DeployedModel: DeployedModel;
  NodePool: NodePool;
  Environment: Environment;
  BatchJob: BatchJob;
  SFTJob: SFTJob;
  BatchInferenceJob: BatchInferenceJob;
}

/** A hearth.dev object as an informer holds it: raw JSON, status possibly absent (a new object). */
export type HearthObject<K extends KindName> = Omit<HearthKinds[K], 'status'> & { status?: HearthKinds[K]['status'] };

/** Anything with a status subresource. */
export type WithStatus = KubernetesObject & { status?: unknown };
/** The status type of an object. */
export type StatusOf<T extends WithStatus> = NonNullable<T['status']>;

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  /** Delete only this incarnation (a precondition on uid). */
  uid?: string;
}

/** A core/v1 Event about an object (`kubectl describe` shows it). */
export interface ObjectEvent {
  type: 'Normal' | 'Warning';
  /** CamelCase, as condition reasons. */
  reason: string;
  message: string;
}

/**
 * How often an event has been seen (EventRecorder): the first is created; a repeat with the name
 * the first got bumps its count and lastTimestamp instead of creating another.
 */
export interface EventSeries {
  count: number;
  /** The name of the Event recorded first, if the writer returned it. */
  name?: string;
}

export interface ObjectWriter {
  /** Creates an object; fails with 409 if an object of that name exists (never takes one over). */
  create(obj: KubernetesObject): Promise<void>;
  /**
   * Replaces an object we own with `obj` (PUT). `metadata.resourceVersion` must be the version the
   * decision was made on: the API server refuses the write (409) if the object changed meanwhile,
   * e.g. was deleted and recreated by someone else. A replace, not a server-side apply: children
   * are created with POST (which must fail on an existing object), and an apply would not remove
   * fields that create recorded under another operation (a GPU resource of the old accelerator
   * type stayed in the pod template beside the new one).
   */
  update(obj: KubernetesObject): Promise<void>;
  delete(ref: ObjectRef): Promise<void>;
  /** Writes the status subresource of `obj` (guarded by its resourceVersion); returns the object written. */
  updateStatus<T extends WithStatus>(obj: T, status: StatusOf<T>): Promise<T>;
  /**
   * Sets metadata.finalizers, guarded by `obj`'s resourceVersion: if anyone changed the object
   * since it was read (another controller's finalizer included), the write fails with 409 instead
   * of clobbering their list. Use addFinalizer/removeFinalizer (finalizers.ts), not this directly.
   */
  setFinalizers<T extends KubernetesObject>(obj: T, finalizers: string[]): Promise<T>;
  /**
   * A JSON merge patch of `obj`'s metadata labels and annotations (null deletes a key), guarded by
   * its resourceVersion; returns the object written.
   */
  patchMetadata<T extends KubernetesObject>(obj: T, patch: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> }): Promise<T>;
  /** Records a core/v1 Event about `obj`; returns the Event's name when known. */
  event(obj: KubernetesObject, e: ObjectEvent, series?: EventSeries): Promise<string | void>;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The registry entry of a hearth.dev object, or undefined for any other kind. */
function hearthKind(obj: Pick<KubernetesObject, 'apiVersion' | 'kind'>): KindInfo | undefined {
  if (!obj.apiVersion?.startsWith(`${GROUP}/`)) return undefined;
  const k = kindInfo(obj.kind ?? '');
  if (!k) throw new Error(`${obj.apiVersion} ${obj.kind}: not a kind of the registry (src/crds/registry.ts)`);
  return k;
}

function nameOf(obj: KubernetesObject): { namespace: string; name: string; resourceVersion?: string } {
  const { namespace, name, resourceVersion } = obj.metadata ?? {};
  if (!namespace || !name) throw new Error(`${obj.kind}: a write needs metadata.namespace and metadata.name`);
  return { namespace, name, resourceVersion };
}

export interface KubeWriterOptions {
  /** Who reports the events (Event.source.component), e.g. 'hearth-deployment-controller'. */
  component: string;
  now?: () => number;
}

/**
 * The writer on a real API server, through the shared rate-limited clients. hearth.dev kinds go
 * through their registry paths (no discovery request); other kinds through KubernetesObjectApi.
 */
export class KubeWriter implements ObjectWriter {
  readonly #objects: KubernetesObjectApi;
  readonly #custom: CustomObjectsApi;
  readonly #core: CoreV1Api;
  readonly #component: string;
  readonly #now: () => number;

  constructor(clients: KubeClients, opts: KubeWriterOptions) {
    this.#objects = clients.objects();
    this.#custom = clients.api(CustomObjectsApi);
    this.#core = clients.api(CoreV1Api);
    this.#component = opts.component;
    this.#now = opts.now ?? Date.now;
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

  async updateStatus<T extends WithStatus>(obj: T, status: StatusOf<T>): Promise<T> {
    const k = hearthKind(obj);
    // Children's status belongs to their own controllers (apps/v1, …): no controller of ours writes it.
    if (!k) throw new Error(`updateStatus: ${obj.apiVersion} ${obj.kind} is not a hearth.dev kind`);
    const { namespace, name } = nameOf(obj);
    const body = { ...obj, status };
    return (await this.#custom.replaceNamespacedCustomObjectStatus({ group: k.group, version: k.version, namespace, plural: k.plural, name, body })) as T;
  }

  async setFinalizers<T extends KubernetesObject>(obj: T, finalizers: string[]): Promise<T> {
    const { resourceVersion } = nameOf(obj);
    return this.#patchMeta(obj, { resourceVersion, finalizers });
  }

  async patchMetadata<T extends KubernetesObject>(obj: T, patch: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> }): Promise<T> {
    const { resourceVersion } = nameOf(obj);
    return this.#patchMeta(obj, { resourceVersion, ...patch });
  }

  async #patchMeta<T extends KubernetesObject>(obj: T, metadata: Record<string, unknown>): Promise<T> {
    const { namespace, name } = nameOf(obj);
    const body = { metadata };
    const k = hearthKind(obj);
    if (k) return (await this.#custom.patchNamespacedCustomObject({ group: k.group, version: k.version, namespace, plural: k.plural, name, body }, mergePatch)) as T;
    const target = { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { namespace, name, ...metadata } };
    return (await this.#objects.patch(target, undefined, undefined, FIELD_MANAGER_CONTROLLER, undefined, PatchStrategy.MergePatch)) as T;
  }

  async event(obj: KubernetesObject, e: ObjectEvent, series?: EventSeries): Promise<string | void> {
    const { namespace, name, uid, resourceVersion } = obj.metadata as { namespace: string; name: string; uid?: string; resourceVersion?: string };
    const at = new Date(this.#now());
    if (series && series.count > 1 && series.name) {
      try {
        await this.#core.patchNamespacedEvent({ namespace, name: series.name, body: { count: series.count, lastTimestamp: at } }, mergePatch);
        return series.name;
      } catch (err) {
        // Events expire (kube-apiserver --event-ttl, 1 h): record a new one.
        if (!isNotFound(err)) throw err;
      }
    }
    const body: CoreV1Event = {
      metadata: { generateName: `${name}.`, namespace },
      involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, namespace, name, uid, resourceVersion },
      type: e.type,
      reason: e.reason,
      message: e.message.slice(0, 1024),
      source: { component: this.#component },
      reportingComponent: `hearth.dev/${this.#component}`,
      reportingInstance: this.#component,
      firstTimestamp: at,
      lastTimestamp: at,
      count: series?.count ?? 1,
    };
    const created = await this.#core.createNamespacedEvent({ namespace, body });
    return created.metadata?.name;
  }
}
