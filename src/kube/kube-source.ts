// The list/watch source of an informer on a Kubernetes collection: core kinds (group '') and
// custom resources alike, all namespaces or one, with an optional label/field selector.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { KubeClients } from './client.js';
import { Informer, isGone, type InformerOptions, type ListResult, type ListWatchSource, type WatchHandle } from './informer.js';

export interface ResourceRef {
  /** API group; '' for the core group (ConfigMap, Pod, …). */
  group: string;
  version: string;
  /** Lower-case plural resource name, e.g. 'configmaps', 'deployments'. */
  plural: string;
  /** Only this namespace; all namespaces (or a cluster-scoped resource) when omitted. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** The REST path of a collection: /api/v1/… for the core group, /apis/<group>/<version>/… otherwise. */
export function collectionPath(ref: Pick<ResourceRef, 'group' | 'version' | 'plural' | 'namespace'>): string {
  const base = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
  const ns = ref.namespace ? `/namespaces/${encodeURIComponent(ref.namespace)}` : '';
  return `${base}${ns}/${ref.plural}`;
}

interface RawList<T> {
  items?: T[];
  metadata?: { resourceVersion?: string; continue?: string };
}

export interface KubeSourceOptions {
  /** List page size (default 500, as client-go's pager). */
  pageSize?: number;
  /** Server-side watch timeout range in seconds; each watch picks one at random (default 300–600). */
  watchTimeoutSeconds?: [number, number];
  random?: () => number;
}

export class KubeListWatch<T extends KubernetesObject> implements ListWatchSource<T> {
  readonly description: string;
  readonly #path: string;

  constructor(
    private readonly clients: KubeClients,
    private readonly ref: ResourceRef,
    private readonly opts: KubeSourceOptions = {},
  ) {
    this.#path = collectionPath(ref);
    const sel = [ref.labelSelector && `labelSelector=${ref.labelSelector}`, ref.fieldSelector && `fieldSelector=${ref.fieldSelector}`].filter(Boolean);
    this.description = sel.length ? `${this.#path}?${sel.join('&')}` : this.#path;
  }

  /** Lists every page. If a continue token expires mid-way (410), lists again in one request. */
  async list(project: (raw: T) => T): Promise<ListResult<T>> {
    try {
      return await this.#listPaged(this.opts.pageSize ?? 500, project);
    } catch (err) {
      if (!isGone(err)) throw err;
      return this.#listPaged(undefined, project);
    }
  }

  async #listPaged(limit: number | undefined, project: (raw: T) => T): Promise<ListResult<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      // Raw JSON: the list metadata's field is `continue` (the generated model calls it `_continue`).
      const page = await this.clients.getJSON<RawList<T>>(this.#path, {
        labelSelector: this.ref.labelSelector,
        fieldSelector: this.ref.fieldSelector,
        limit: limit === undefined ? undefined : String(limit),
        continue: cont,
      });
      for (const raw of page.items ?? []) items.push(project(raw));
      rv = page.metadata?.resourceVersion ?? rv;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { items, resourceVersion: rv };
  }

  async watch(resourceVersion: string, onEvent: (type: string, obj: unknown) => void, onDone: (err: unknown) => void): Promise<WatchHandle> {
    const [lo, hi] = this.opts.watchTimeoutSeconds ?? [300, 600];
    const timeoutSeconds = Math.round(lo + (hi - lo) * (this.opts.random ?? Math.random)());
    return this.clients.watch(
      this.#path,
      {
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
        labelSelector: this.ref.labelSelector,
        fieldSelector: this.ref.fieldSelector,
      },
      onEvent,
      onDone,
    );
  }
}

/**
 * Informers on Kubernetes collections, one per distinct ResourceRef, shared by every controller
 * that asks (controller-runtime's cache): two controllers watching Pods open one watch. Informer
 * start/stop is reference-counted, so each controller starts and stops what it uses.
 */
export class InformerCache {
  readonly #informers = new Map<string, Informer<KubernetesObject>>();

  constructor(
    private readonly clients: KubeClients,
    private readonly opts: InformerOptions,
    private readonly sourceOpts: KubeSourceOptions = {},
  ) {}

  informer<T extends KubernetesObject>(ref: ResourceRef): Informer<T> {
    const key = JSON.stringify([ref.group, ref.version, ref.plural, ref.namespace ?? '', ref.labelSelector ?? '', ref.fieldSelector ?? '']);
    let i = this.#informers.get(key);
    if (!i) {
      i = new Informer<KubernetesObject>(new KubeListWatch(this.clients, ref, this.sourceOpts), this.opts);
      this.#informers.set(key, i);
    }
    return i as unknown as Informer<T>;
  }
}
