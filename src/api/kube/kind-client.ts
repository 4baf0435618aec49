// One hearth.dev kind (deployments, deployedModels, nodePools, …) for the REST facade: reads from
// the process's shared informer of every namespace (src/kube/informer-factory.ts; lists never hit
// the API server), writes to the API server with the `hearth-api` field manager through the
// process's one rate-limited client (KubeClients).
//
// Read-your-writes: every write's response is laid over the shared cache at once (WriteOverlay,
// src/kube/write-overlay.ts), and an older resourceVersion never replaces a newer one (watch
// events can trail a write), so a client that creates and then lists sees its object. A get that
// misses the cache asks the API server (another replica may have just created the object).
//
// The watch, its restarts, backoff, relists and "synced" are the src/kube Informer's, the same one
// the controller and the gateway read in mode `all` (one watch per kind for the whole process).
import { CustomObjectsApi, setHeaderOptions, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { BATCH_INFERENCE_JOB, BATCH_JOB, DEPLOYED_MODEL, DEPLOYMENT, ENVIRONMENT, NODE_POOL, SFT_JOB, type KindInfo } from '../../crds/registry.js';
import { FIELD_MANAGER_API, GROUP, VERSION } from '../../crds/group.js';
import type { KubeClients } from '../../kube/client.js';
import type { Informer } from '../../kube/informer.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import { keyOf } from '../../kube/keys.js';
import { WriteOverlay, isOlderVersion } from '../../kube/write-overlay.js';
import { realClock, type Clock } from '../../util/clock.js';
import type { DeploymentObject } from '../mappers/deployment.js';
import { statusCodeOf } from './errors.js';

/** What every stored custom object has: metadata with a name, namespace and resourceVersion. */
export interface StoredObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
}

export interface KindClient<T extends StoredObject> {
  /** Lists and starts watching; resolves once the cache holds the cluster's objects. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Cached objects of one namespace. */
  list(namespace: string): T[];
  /** Cached object, else the API server's; undefined if it does not exist. */
  get(namespace: string, name: string): Promise<T | undefined>;
  /** The API server's current object (for read-modify-write). */
  read(namespace: string, name: string): Promise<T | undefined>;
  create(obj: T): Promise<T>;
  /** Replaces the object; its metadata.resourceVersion is the precondition (409 if stale). */
  replace(obj: T): Promise<T>;
  /** JSON merge patch (RFC 7386) of the main resource. */
  mergePatch(namespace: string, name: string, patch: Record<string, unknown>): Promise<T>;
  /** Deletes; resolves false if it was already gone. */
  delete(namespace: string, name: string): Promise<boolean>;
}

const TOMBSTONE_TTL_MS = 5 * 60_000;

/**
 * A standalone cache: namespace → name → object, guarded against stale events. The kind clients above
 * no longer keep one (they read the shared informer through a WriteOverlay); the route unit tests'
 * in-memory kind client (routes/deployments.test.ts) still uses it.
 */
export class ResourceCache<T extends StoredObject> {
  readonly #byNs = new Map<string, Map<string, T>>();
  /** Deleted objects' last resourceVersions, so a trailing event does not resurrect them. */
  readonly #tombstones = new Map<string, { rv: string; at: number }>();

  list(namespace: string): T[] {
    return [...(this.#byNs.get(namespace)?.values() ?? [])];
  }

  get(namespace: string, name: string): T | undefined {
    return this.#byNs.get(namespace)?.get(name);
  }

  get size(): number {
    let n = 0;
    for (const m of this.#byNs.values()) n += m.size;
    return n;
  }

  upsert(obj: T): void {
    const ns = obj.metadata.namespace ?? '';
    const key = `${ns}/${obj.metadata.name}`;
    const rv = obj.metadata.resourceVersion;
    const tomb = this.#tombstones.get(key);
    if (tomb && !isOlderVersion(tomb.rv, rv)) return;
    this.#tombstones.delete(key);
    let m = this.#byNs.get(ns);
    const cur = m?.get(obj.metadata.name);
    if (cur && isOlderVersion(rv, cur.metadata.resourceVersion)) return;
    if (!m) this.#byNs.set(ns, (m = new Map()));
    m.set(obj.metadata.name, obj);
  }

  remove(obj: { metadata: { name: string; namespace?: string; resourceVersion?: string } }): void {
    const ns = obj.metadata.namespace ?? '';
    const m = this.#byNs.get(ns);
    const cur = m?.get(obj.metadata.name);
    if (cur && isOlderVersion(obj.metadata.resourceVersion, cur.metadata.resourceVersion)) return;
    m?.delete(obj.metadata.name);
    if (m?.size === 0) this.#byNs.delete(ns);
    const rv = obj.metadata.resourceVersion;
    if (rv === undefined) return;
    const now = Date.now();
    this.#tombstones.set(`${ns}/${obj.metadata.name}`, { rv, at: now });
    if (this.#tombstones.size > 1000) {
      for (const [k, t] of this.#tombstones) if (now - t.at > TOMBSTONE_TTL_MS) this.#tombstones.delete(k);
    }
  }
}

/** The process's Kubernetes access: main.ts's shared context has both. */
export interface KubeAccess {
  /** The one rate-limited client: reads on a cache miss and every write. */
  clients: KubeClients;
  /** The one informer layer: the client's watch is the process's watch of its kind. */
  informers: InformerFactory;
}

export interface KubeKindClientOptions {
  /** Where a failed start is reported (the watch's own failures are the informer's to log). */
  log: Logger;
  /** How long start() waits for the first list (default 30 s). */
  syncTimeoutMs?: number;
  clock?: Clock;
}

const mergePatchHeaders = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class KubeKindClient<T extends StoredObject> implements KindClient<T> {
  readonly #plural: string;
  readonly #api: CustomObjectsApi;
  readonly #informer: Informer<KubernetesObject>;
  readonly #overlay: WriteOverlay<KubernetesObject>;
  readonly #clock: Clock;
  #started = false;

  constructor(
    kube: KubeAccess,
    kind: Pick<KindInfo, 'plural'>,
    private readonly opts: KubeKindClientOptions,
  ) {
    this.#plural = kind.plural;
    this.#api = kube.clients.api(CustomObjectsApi);
    this.#clock = opts.clock ?? realClock;
    // The factory's default projection (less managedFields): the one the controller and the
    // gateway ask for on hearth.dev kinds too, so the watch is shared.
    this.#informer = kube.informers.informer<KubernetesObject>({ group: GROUP, version: VERSION, plural: kind.plural });
    this.#overlay = new WriteOverlay(this.#informer, { clock: this.#clock });
  }

  /** Holds the shared informer running; resolves once it has listed, or throws after syncTimeoutMs. */
  async start(): Promise<void> {
    if (!this.#started) {
      this.#started = true;
      this.#informer.start();
    }
    const timeoutMs = this.opts.syncTimeoutMs ?? 30_000;
    const timedOut = new AbortController();
    const timer = this.#clock.setTimeout(() => timedOut.abort(), timeoutMs);
    const synced = await this.#informer.waitForSync(timedOut.signal);
    this.#clock.clearTimeout(timer);
    if (synced) return;
    this.opts.log.error({ informer: this.#informer.description, timeoutMs }, 'the store did not sync (the informer logs each failed list)');
    await this.stop();
    throw new Error(`could not list ${this.#plural}.${GROUP} within ${timeoutMs} ms (${this.#informer.description}; the informer logs why)`);
  }

  /** The shared informer has listed (it stays synced across watch restarts). */
  hasSynced(): boolean {
    return this.#informer.hasSynced();
  }

  /** Releases this client's hold on the shared informer (it keeps running for its other readers). */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    await this.#informer.stop();
  }

  list(namespace: string): T[] {
    return this.#overlay.list(namespace) as unknown as T[];
  }

  async get(namespace: string, name: string): Promise<T | undefined> {
    return (this.#overlay.get(keyOf(namespace, name)) as unknown as T | undefined) ?? this.read(namespace, name);
  }

  async read(namespace: string, name: string): Promise<T | undefined> {
    try {
      const obj = (await this.#api.getNamespacedCustomObject({ ...this.#ref(namespace), name })) as T;
      this.#remember(obj);
      return obj;
    } catch (e) {
      if (statusCodeOf(e) === 404) return undefined;
      throw e;
    }
  }

  async create(obj: T): Promise<T> {
    const ns = obj.metadata.namespace ?? '';
    const created = (await this.#api.createNamespacedCustomObject({ ...this.#ref(ns), body: obj, fieldManager: FIELD_MANAGER_API })) as T;
    this.#remember(created);
    return created;
  }

  async replace(obj: T): Promise<T> {
    const ns = obj.metadata.namespace ?? '';
    const updated = (await this.#api.replaceNamespacedCustomObject({
      ...this.#ref(ns),
      name: obj.metadata.name,
      body: obj,
      fieldManager: FIELD_MANAGER_API,
    })) as T;
    this.#remember(updated);
    return updated;
  }

  async mergePatch(namespace: string, name: string, patch: Record<string, unknown>): Promise<T> {
    const updated = (await this.#api.patchNamespacedCustomObject(
      { ...this.#ref(namespace), name, body: patch, fieldManager: FIELD_MANAGER_API },
      mergePatchHeaders,
    )) as T;
    this.#remember(updated);
    return updated;
  }

  async delete(namespace: string, name: string): Promise<boolean> {
    try {
      const last = (await this.#api.deleteNamespacedCustomObject({ ...this.#ref(namespace), name })) as Partial<StoredObject> | undefined;
      this.#overlay.remove(namespace, name, last?.metadata?.resourceVersion);
      return true;
    } catch (e) {
      if (statusCodeOf(e) === 404) {
        this.#overlay.remove(namespace, name);
        return false;
      }
      throw e;
    }
  }

  /** The server's answer, as readers of this client see it from now on (as the cache would keep it). */
  #remember(obj: T): void {
    const copy = structuredClone(obj) as unknown as KubernetesObject;
    if (copy.metadata?.managedFields !== undefined) delete copy.metadata.managedFields;
    this.#overlay.put(copy);
  }

  #ref(namespace: string): { group: string; version: string; namespace: string; plural: string } {
    return { group: GROUP, version: VERSION, namespace, plural: this.#plural };
  }
}

/** The deployments client (the first kind the facade served). */
export type DeploymentClient = KindClient<DeploymentObject>;

export class KubeDeploymentClient extends KubeKindClient<DeploymentObject> {
  constructor(kube: KubeAccess, opts: KubeKindClientOptions) {
    super(kube, DEPLOYMENT, opts);
  }
}

/** A hearth.dev custom object as the API server returns it (plain JSON; mappers give it shape). */
export interface CustomObject extends StoredObject {
  metadata: StoredObject['metadata'] & { labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string; generation?: number; uid?: string };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/** The clients of the kinds besides Deployment, keyed by REST collection. */
export interface KindClients {
  deployedModels: KindClient<CustomObject>;
  nodePools: KindClient<CustomObject>;
  environments: KindClient<CustomObject>;
  batchJobs: KindClient<CustomObject>;
  supervisedFineTuningJobs: KindClient<CustomObject>;
  batchInferenceJobs: KindClient<CustomObject>;
}

/** One client per kind on the process's informers; `start()` waits for them all, `stop()` releases them all. */
export class KubeKindClients {
  readonly deployments: KubeDeploymentClient;
  readonly others: { [K in keyof KindClients]: KubeKindClient<CustomObject> };

  constructor(kube: KubeAccess, opts: KubeKindClientOptions) {
    this.deployments = new KubeDeploymentClient(kube, opts);
    this.others = {
      deployedModels: new KubeKindClient(kube, DEPLOYED_MODEL, opts),
      nodePools: new KubeKindClient(kube, NODE_POOL, opts),
      environments: new KubeKindClient(kube, ENVIRONMENT, opts),
      batchJobs: new KubeKindClient(kube, BATCH_JOB, opts),
      supervisedFineTuningJobs: new KubeKindClient(kube, SFT_JOB, opts),
      batchInferenceJobs: new KubeKindClient(kube, BATCH_INFERENCE_JOB, opts),
    };
  }

  async start(): Promise<void> {
    await Promise.all([this.deployments, ...Object.values(this.others)].map((s) => s.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([this.deployments, ...Object.values(this.others)].map((s) => s.stop()));
  }

  /** The kinds whose caches have not listed yet (empty: every read can be served from a cache). */
  unsynced(): string[] {
    return Object.entries({ deployments: this.deployments, ...this.others })
      .filter(([, c]) => !c.hasSynced())
      .map(([k]) => k);
  }
}
