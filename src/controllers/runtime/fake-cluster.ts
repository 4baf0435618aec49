// A recording fake of the API for reconciler unit tests ("given these objects, expect exactly these
// writes": sample-controller's fixture, Knative's TableTest). Its writes land in in-memory stores
// the reconciler reads back as its informer caches, so the next pass reads its own writes as it
// would once the informers catch up. Resource versions, generations, 409s on a stale
// resourceVersion and 404s behave like the API server's. No cluster, no timers.
//
// A controller's tests register one store per kind it reads (`store(type, objects)`) and extend
// this class with what the rest of the cluster would do next (see deployment/fake-cluster.ts).
import type { KubernetesObject } from '@kubernetes/client-node';
import { keyOf, objectKey } from '../../kube/keys.js';
import type { Lister } from './controller.js';
import type { EventSeries, ObjectEvent, ObjectRef, ObjectWriter, StatusOf, WithStatus } from './writer.js';

const clone = <T>(o: T): T => structuredClone(o);

export class MapLister<T extends KubernetesObject> implements Lister<T> {
  readonly items = new Map<string, T>();

  constructor(objs: readonly T[] = []) {
    for (const o of objs) this.put(o);
  }

  put(o: T): void {
    this.items.set(objectKey(o), o);
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  list(namespace?: string): T[] {
    const all = [...this.items.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  delete(key: string): void {
    this.items.delete(key);
  }
}

/** One recorded API write: `verb kind namespace/name`, and the object sent. */
export interface Write {
  verb: 'create' | 'update' | 'delete' | 'status' | 'finalizers' | 'metadata' | 'event';
  kind: string;
  key: string;
  obj?: unknown;
}

/**
 * How a kind is named in recorded writes: the kind alone for the core group (`Service`, `Pod`),
 * `Kind/<first label of the group>` otherwise (`Deployment/apps`, `Deployment/hearth`), so two
 * kinds of the same name stay apart.
 */
export function kindLabel(o: { apiVersion?: string; kind?: string }): string {
  const av = o.apiVersion ?? '';
  const slash = av.indexOf('/');
  return slash < 0 ? (o.kind ?? '?') : `${o.kind ?? '?'}/${av.slice(0, slash).split('.')[0]}`;
}

/** A 409 as the API server returns it. */
export function conflict(message: string): Error {
  return Object.assign(new Error(message), { code: 409 });
}

function notFound(message: string): Error {
  return Object.assign(new Error(message), { code: 404 });
}

export class FakeCluster implements ObjectWriter {
  readonly writes: Write[] = [];
  readonly #stores = new Map<string, MapLister<KubernetesObject>>();
  #rv = 100;

  /** Registers the store of a kind (by apiVersion and kind) with its initial objects (cloned). */
  protected store<T extends KubernetesObject>(type: { apiVersion: string; kind: string }, objs: readonly T[] = []): MapLister<T> {
    const s = new MapLister<T>(objs.map(clone));
    this.#stores.set(kindLabel(type), s as unknown as MapLister<KubernetesObject>);
    return s;
  }

  /** Writes as `verb kind key` lines, then forgets them. */
  take(): string[] {
    const out = this.writes.map((w) => `${w.verb} ${w.kind} ${w.key}`);
    this.writes.length = 0;
    return out;
  }

  nextVersion(): string {
    return String(++this.#rv);
  }

  #storeOf(kind: string): MapLister<KubernetesObject> {
    const s = this.#stores.get(kind);
    if (!s) throw new Error(`FakeCluster: no store for ${kind}`);
    return s;
  }

  async create(obj: KubernetesObject): Promise<void> {
    const kind = kindLabel(obj);
    this.writes.push({ verb: 'create', kind, key: objectKey(obj), obj: clone(obj) });
    const store = this.#storeOf(kind);
    if (store.get(objectKey(obj))) throw conflict(`${kind} ${objectKey(obj)} already exists`);
    const o = clone(obj);
    o.metadata = { ...o.metadata, uid: `uid-${o.metadata?.name}`, resourceVersion: this.nextVersion(), generation: 1 };
    store.put(o);
  }

  async update(obj: KubernetesObject): Promise<void> {
    const kind = kindLabel(obj);
    this.writes.push({ verb: 'update', kind, key: objectKey(obj), obj: clone(obj) });
    const store = this.#storeOf(kind);
    const cur = store.get(objectKey(obj));
    const rv = obj.metadata?.resourceVersion;
    if (rv !== undefined && cur?.metadata?.resourceVersion !== rv) throw conflict(`${kind} ${objectKey(obj)} changed`);
    const next = clone(obj) as KubernetesObject & { spec?: unknown; status?: unknown };
    const gen = (cur?.metadata?.generation ?? 0) + (JSON.stringify((cur as { spec?: unknown })?.spec) === JSON.stringify(next.spec) ? 0 : 1);
    next.metadata = { ...cur?.metadata, ...next.metadata, resourceVersion: this.nextVersion(), generation: gen };
    next.status = (cur as { status?: unknown } | undefined)?.status;
    store.put(next);
  }

  async delete(ref: ObjectRef): Promise<void> {
    const kind = kindLabel(ref);
    const key = keyOf(ref.namespace, ref.name);
    this.writes.push({ verb: 'delete', kind, key });
    const store = this.#storeOf(kind);
    const cur = store.get(key);
    if (!cur) throw notFound('not found');
    if (ref.uid && cur.metadata?.uid !== ref.uid) throw conflict('uid precondition failed');
    store.delete(key);
  }

  async updateStatus<T extends WithStatus>(obj: T, status: StatusOf<T>): Promise<T> {
    const kind = kindLabel(obj);
    const key = objectKey(obj);
    this.writes.push({ verb: 'status', kind, key, obj: clone(status) });
    const store = this.#storeOf(kind);
    const cur = store.get(key);
    if (!cur || cur.metadata?.resourceVersion !== obj.metadata?.resourceVersion) throw conflict(`${obj.kind} ${key} changed`);
    const next = { ...clone(cur), status: clone(status) } as KubernetesObject;
    next.metadata = { ...next.metadata, resourceVersion: this.nextVersion() };
    store.put(next);
    return clone(next) as T;
  }

  async setFinalizers<T extends KubernetesObject>(obj: T, finalizers: string[]): Promise<T> {
    const kind = kindLabel(obj);
    const key = objectKey(obj);
    this.writes.push({ verb: 'finalizers', kind, key, obj: [...finalizers] });
    const next = this.#patchMeta(obj, (m) => ({ ...m, finalizers }));
    // The API server deletes an object being deleted once its last finalizer is gone.
    if (finalizers.length === 0 && next.metadata?.deletionTimestamp) this.#storeOf(kind).delete(key);
    return next;
  }

  async patchMetadata<T extends KubernetesObject>(obj: T, patch: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> }): Promise<T> {
    this.writes.push({ verb: 'metadata', kind: kindLabel(obj), key: objectKey(obj), obj: clone(patch) });
    const merge = (cur: Record<string, string> | undefined, p: Record<string, string | null> | undefined): Record<string, string> | undefined => {
      if (!p) return cur;
      const out = { ...cur };
      for (const [k, v] of Object.entries(p)) {
        if (v === null) delete out[k];
        else out[k] = v;
      }
      return out;
    };
    return this.#patchMeta(obj, (m) => ({ ...m, labels: merge(m.labels, patch.labels), annotations: merge(m.annotations, patch.annotations) }));
  }

  #patchMeta<T extends KubernetesObject>(obj: T, fn: (m: NonNullable<KubernetesObject['metadata']>) => NonNullable<KubernetesObject['metadata']>): T {
    const kind = kindLabel(obj);
    const key = objectKey(obj);
    const store = this.#storeOf(kind);
    const cur = store.get(key);
    if (!cur || cur.metadata?.resourceVersion !== obj.metadata?.resourceVersion) throw conflict(`${obj.kind} ${key} changed`);
    const next = clone(cur);
    next.metadata = { ...fn(next.metadata ?? {}), resourceVersion: this.nextVersion() };
    store.put(next);
    return clone(next) as T;
  }

  /** Events are recorded as `event Type/Reason key`; `series` (the recorder's count) is kept on the write. */
  async event(obj: KubernetesObject, e: ObjectEvent, series?: EventSeries): Promise<string | void> {
    this.writes.push({ verb: 'event', kind: `${e.type}/${e.reason}`, key: objectKey(obj), obj: { ...e, ...(series ? { count: series.count } : {}) } });
    return `${obj.metadata?.name}.${this.writes.length}`;
  }

  /** Changes an object as a user would: a new resourceVersion, and a new generation when the spec changed. */
  protected editObject<T extends KubernetesObject & { spec?: unknown }>(store: MapLister<T>, key: string, fn: (o: T) => void): void {
    const cur = store.get(key);
    if (!cur) throw new Error(`no ${key}`);
    const next = clone(cur);
    fn(next);
    const gen = ((cur.metadata?.generation as number | undefined) ?? 1) + (JSON.stringify(cur.spec) === JSON.stringify(next.spec) ? 0 : 1);
    next.metadata = { ...next.metadata, generation: gen, resourceVersion: this.nextVersion() };
    store.put(next);
  }
}
