// One hearth.dev kind (deployments, deployedModels, nodePools, …) for the REST facade: reads from a
// watch-fed cache of every namespace (lists never hit the API server), writes to the API server
// with the `hearth-api` field manager.
//
// Read-your-writes: every write's response goes into the cache at once, and the cache never lets
// an older resourceVersion replace a newer one (watch events can trail a write), so a client that
// creates and then lists sees its object. A get that misses the cache asks the API server (another
// replica may have just created the object).
//
// client-node's informer stops for good on any error other than 410; this store restarts it with
// capped backoff. (src/controllers/runtime has a fuller informer; the API may not import
// controllers — ARCHITECTURE §8 — so moving it to src/kube/ is proposed.)
import { CustomObjectsApi, makeInformer, setHeaderOptions, PatchStrategy, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { BATCH_JOB, DEPLOYED_MODEL, DEPLOYMENT, ENVIRONMENT, NODE_POOL, SFT_JOB, type KindInfo } from '../../crds/registry.js';
import { FIELD_MANAGER_API, GROUP, VERSION } from '../../crds/group.js';
import type { DeploymentObject } from '../mappers/deployment.js';
import { statusCodeOf } from './errors.js';

/** What every stored custom object has: metadata with a name, namespace and resourceVersion. */
export interface StoredObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
}

export interface ResourceStore<T extends StoredObject> {
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

/** True when resourceVersion `a` is older than `b` (etcd revisions are integers; else unknown). */
function isOlder(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

const TOMBSTONE_TTL_MS = 5 * 60_000;

/** The cache: namespace → name → object, guarded against stale events. */
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
    if (tomb && !isOlder(tomb.rv, rv)) return;
    this.#tombstones.delete(key);
    let m = this.#byNs.get(ns);
    const cur = m?.get(obj.metadata.name);
    if (cur && isOlder(rv, cur.metadata.resourceVersion)) return;
    if (!m) this.#byNs.set(ns, (m = new Map()));
    m.set(obj.metadata.name, obj);
  }

  remove(obj: { metadata: { name: string; namespace?: string; resourceVersion?: string } }): void {
    const ns = obj.metadata.namespace ?? '';
    const m = this.#byNs.get(ns);
    const cur = m?.get(obj.metadata.name);
    if (cur && isOlder(obj.metadata.resourceVersion, cur.metadata.resourceVersion)) return;
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

export interface KubeResourceStoreOptions {
  log: Logger;
  /** First and longest restart delay of the watch after a failure. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** How long start() waits for the first list (default 30 s). */
  syncTimeoutMs?: number;
}

const mergePatchHeaders = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class KubeResourceStore<T extends StoredObject> implements ResourceStore<T> {
  readonly cache = new ResourceCache<T>();
  readonly #plural: string;
  readonly #api: CustomObjectsApi;
  readonly #informer;
  readonly #log: Logger;
  readonly #backoff: { initialMs: number; maxMs: number };
  #failures = 0;
  #stopped = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #lastError: unknown;

  constructor(
    kc: KubeConfig,
    kind: Pick<KindInfo, 'plural'>,
    private readonly opts: KubeResourceStoreOptions,
  ) {
    this.#plural = kind.plural;
    this.#api = kc.makeApiClient(CustomObjectsApi);
    this.#log = opts.log.child({ component: `${kind.plural}-cache` });
    this.#backoff = { initialMs: opts.backoff?.initialMs ?? 500, maxMs: opts.backoff?.maxMs ?? 30_000 };
    const ref = { group: GROUP, version: VERSION, plural: kind.plural };
    // Plain JSON objects (custom resources are not deserialised into client-node models).
    const list = (): Promise<KubernetesListObject<KubernetesObject>> =>
      this.#api.listClusterCustomObject(ref) as Promise<KubernetesListObject<KubernetesObject>>;
    this.#informer = makeInformer<KubernetesObject>(kc, `/apis/${GROUP}/${VERSION}/${kind.plural}`, list);
    this.#informer.on('add', (o) => this.cache.upsert(o as unknown as T));
    this.#informer.on('update', (o) => this.cache.upsert(o as unknown as T));
    this.#informer.on('delete', (o) => this.cache.remove(o as unknown as T));
    this.#informer.on('connect', () => {
      this.#lastError = undefined;
    });
    this.#informer.on('error', (err: unknown) => this.#onError(err));
  }

  #onError(err: unknown): void {
    this.#lastError = err ?? new Error('watch failed');
    if (this.#stopped) return;
    const delay = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** Math.min(this.#failures++, 16));
    this.#log.warn({ err, retryInMs: delay }, 'watch failed; restarting');
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopped) return;
      void this.#informer.start().then(() => {
        if (this.#lastError === undefined) this.#failures = 0;
      });
    }, delay);
    this.#restartTimer.unref?.();
  }

  async start(): Promise<void> {
    this.#stopped = false;
    const deadline = Date.now() + (this.opts.syncTimeoutMs ?? 30_000);
    for (;;) {
      this.#lastError = undefined;
      await this.#informer.start();
      if (this.#lastError === undefined) return;
      if (this.#restartTimer) clearTimeout(this.#restartTimer);
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`could not list ${this.#plural}.${GROUP}: ${String((this.#lastError as Error)?.message ?? this.#lastError)}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    await this.#informer.stop();
  }

  list(namespace: string): T[] {
    return this.cache.list(namespace);
  }

  async get(namespace: string, name: string): Promise<T | undefined> {
    return this.cache.get(namespace, name) ?? this.read(namespace, name);
  }

  async read(namespace: string, name: string): Promise<T | undefined> {
    try {
      const obj = (await this.#api.getNamespacedCustomObject({ ...this.#ref(namespace), name })) as T;
      this.cache.upsert(obj);
      return obj;
    } catch (e) {
      if (statusCodeOf(e) === 404) return undefined;
      throw e;
    }
  }

  async create(obj: T): Promise<T> {
    const ns = obj.metadata.namespace ?? '';
    const created = (await this.#api.createNamespacedCustomObject({ ...this.#ref(ns), body: obj, fieldManager: FIELD_MANAGER_API })) as T;
    this.cache.upsert(created);
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
    this.cache.upsert(updated);
    return updated;
  }

  async mergePatch(namespace: string, name: string, patch: Record<string, unknown>): Promise<T> {
    const updated = (await this.#api.patchNamespacedCustomObject(
      { ...this.#ref(namespace), name, body: patch, fieldManager: FIELD_MANAGER_API },
      mergePatchHeaders,
    )) as T;
    this.cache.upsert(updated);
    return updated;
  }

  async delete(namespace: string, name: string): Promise<boolean> {
    try {
      const last = (await this.#api.deleteNamespacedCustomObject({ ...this.#ref(namespace), name })) as Partial<StoredObject> | undefined;
      const rv = last?.metadata?.resourceVersion;
      this.cache.remove({ metadata: { name, namespace, ...(rv ? { resourceVersion: rv } : {}) } });
      return true;
    } catch (e) {
      if (statusCodeOf(e) === 404) {
        this.cache.remove({ metadata: { name, namespace } });
        return false;
      }
      throw e;
    }
  }

  #ref(namespace: string): { group: string; version: string; namespace: string; plural: string } {
    return { group: GROUP, version: VERSION, namespace, plural: this.#plural };
  }
}

/** The deployments store (the first kind the facade served). */
export type DeploymentStore = ResourceStore<DeploymentObject>;

export class KubeDeploymentStore extends KubeResourceStore<DeploymentObject> {
  constructor(kc: KubeConfig, opts: KubeResourceStoreOptions) {
    super(kc, DEPLOYMENT, opts);
  }
}

/** A hearth.dev custom object as the API server returns it (plain JSON; mappers give it shape). */
export interface CustomObject extends StoredObject {
  metadata: StoredObject['metadata'] & { labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string; generation?: number; uid?: string };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/** The stores of the kinds besides Deployment, keyed by REST collection. */
export interface ResourceStores {
  deployedModels: ResourceStore<CustomObject>;
  nodePools: ResourceStore<CustomObject>;
  environments: ResourceStore<CustomObject>;
  batchJobs: ResourceStore<CustomObject>;
  supervisedFineTuningJobs: ResourceStore<CustomObject>;
}

/** One watch-fed store per kind; `start()` lists them all, `stop()` stops them all. */
export class KubeResourceStores {
  readonly deployments: KubeDeploymentStore;
  readonly others: { [K in keyof ResourceStores]: KubeResourceStore<CustomObject> };

  constructor(kc: KubeConfig, opts: KubeResourceStoreOptions) {
    this.deployments = new KubeDeploymentStore(kc, opts);
    this.others = {
      deployedModels: new KubeResourceStore(kc, DEPLOYED_MODEL, opts),
      nodePools: new KubeResourceStore(kc, NODE_POOL, opts),
      environments: new KubeResourceStore(kc, ENVIRONMENT, opts),
      batchJobs: new KubeResourceStore(kc, BATCH_JOB, opts),
      supervisedFineTuningJobs: new KubeResourceStore(kc, SFT_JOB, opts),
    };
  }

  async start(): Promise<void> {
    await Promise.all([this.deployments, ...Object.values(this.others)].map((s) => s.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([this.deployments, ...Object.values(this.others)].map((s) => s.stop()));
  }
}
