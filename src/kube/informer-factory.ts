// The one informer layer of a process (client-go's SharedInformerFactory, controller-runtime's
// cache): one Informer — one list and one watch — per distinct collection, whatever number of
// controllers, REST kind clients and gateway tables read it. Everything Hearth watches goes through the
// process's single factory, on the process's single rate-limited client (KubeClients).
//
// One watch serves every reader, so it has one projection: the transform given the first time a
// collection is asked for. Asking again with a different transform is a wiring error and throws
// at once (a reader would silently miss fields another reader's projection dropped). Projections
// that several parts of a process need are therefore defined once, beside the kind they project.
//
// Namespaces are the exception: their projection is the installation's namespace seal
// (src/crds/account.ts `NamespaceSeal.project`), given to the factory, so no reader can see an
// account label Hearth did not seal. `namespaces()` is the one way to them; asking for the
// namespaces collection any other way, or without a seal, throws.
//
// Caches stay warm: `start()` holds a reference on every informer the factory made or will make,
// so the informers keep running while controllers come and go with leadership terms (each
// controller's own start/stop is reference-counted on top). A standby that becomes leader
// reconciles from a synced cache instead of waiting for a relist.
import type { KubernetesObject, V1Namespace } from '@kubernetes/client-node';
import type { NamespaceSeal } from '../crds/account.js';
import type { KubeClients } from './client.js';
import { Informer, stripManagedFields, type InformerOptions, type ListWatchSource } from './informer.js';
import { KubeListWatch, type KubeSourceOptions, type ResourceRef } from './kube-source.js';

export type Transform<T> = (obj: T) => T;

export interface InformerFactoryOptions extends Omit<InformerOptions, 'transform' | 'resyncMs'> {
  source?: KubeSourceOptions;
  /** Where an informer lists and watches (default: the API server through the clients); tests inject fakes. */
  sourceFor?: (ref: ResourceRef) => ListWatchSource<KubernetesObject>;
  /** The installation's namespace seal: namespaces are read only through its projection (`namespaces()`). */
  tenancy?: NamespaceSeal;
}

/** Every namespace of the cluster (read through `InformerFactory.namespaces()` only). */
export const NAMESPACES: ResourceRef = { group: '', version: 'v1', plural: 'namespaces' };

/** The identity of a watch: group, version, plural, namespace and selectors. */
export function refKey(ref: ResourceRef): string {
  return JSON.stringify([ref.group, ref.version, ref.plural, ref.namespace ?? '', ref.labelSelector ?? '', ref.fieldSelector ?? '']);
}

interface Entry {
  ref: ResourceRef;
  informer: Informer<KubernetesObject>;
  transform: Transform<KubernetesObject>;
}

export class InformerFactory {
  readonly #entries = new Map<string, Entry>();
  readonly #opts: InformerFactoryOptions;
  readonly #clients: KubeClients | undefined;
  #held = false;
  readonly #namespaceProjection: Transform<KubernetesObject> | undefined;

  /** `clients` may be omitted only when `opts.sourceFor` supplies every source (tests). */
  constructor(clients: KubeClients | undefined, opts: InformerFactoryOptions) {
    this.#clients = clients;
    this.#opts = opts;
    const seal = opts.tenancy;
    const log = opts.log;
    this.#namespaceProjection = seal
      ? (ns) =>
          seal.project(stripManagedFields(ns), (name, claimed) =>
            log.warn({ namespace: name, claimedAccount: claimed }, 'namespace labelled with an account but not sealed by Hearth: ignored (no reconcile, billing or routing as that account)'),
          )
      : undefined;
  }

  /**
   * Every namespace, as the namespace seal projects it: an account label stays only where Hearth's
   * seal verifies (src/crds/account.ts). Throws when the factory was made without `tenancy`.
   */
  namespaces(): Informer<V1Namespace> {
    if (!this.#namespaceProjection) throw new Error('informers: namespaces are read only through the namespace seal, and this factory has none (InformerFactoryOptions.tenancy)');
    return this.informer<V1Namespace>(NAMESPACES, { transform: this.#namespaceProjection as unknown as Transform<V1Namespace> });
  }

  /**
   * The shared informer of a collection. The first call fixes its projection (default:
   * stripManagedFields); a later call with another transform throws.
   */
  informer<T extends KubernetesObject>(ref: ResourceRef, opts: { transform?: Transform<T> } = {}): Informer<T> {
    const key = refKey(ref);
    const transform = (opts.transform ?? stripManagedFields) as unknown as Transform<KubernetesObject>;
    this.#refuseUnsealedNamespaces(ref, transform);
    const existing = this.#entries.get(key);
    if (existing) {
      if (existing.transform !== transform) {
        throw new Error(`informer ${key}: asked for with a different projection than it was made with; one watch has one projection (define it once and share it)`);
      }
      return existing.informer as unknown as Informer<T>;
    }
    const { source: sourceOpts, sourceFor, ...informerOpts } = this.#opts;
    const source = sourceFor ? sourceFor(ref) : new KubeListWatch<KubernetesObject>(this.#requireClients(), ref, sourceOpts);
    const informer = new Informer<KubernetesObject>(source, { ...informerOpts, transform });
    this.#entries.set(key, { ref, informer, transform });
    if (this.#held) informer.start();
    return informer as unknown as Informer<T>;
  }

  /** Namespaces only whole and through the seal's projection: no reader may see an unsealed account label. */
  #refuseUnsealedNamespaces(ref: ResourceRef, transform: Transform<KubernetesObject>): void {
    if (ref.group !== '' || ref.plural !== 'namespaces') return;
    if (transform !== this.#namespaceProjection || ref.labelSelector || ref.fieldSelector) {
      throw new Error('informers: namespaces are read only through namespaces() (the namespace seal\'s projection)');
    }
  }

  /** Starts every informer (made now or later) and keeps it running until stop(): caches stay warm. */
  start(): void {
    if (this.#held) return;
    this.#held = true;
    for (const e of this.#entries.values()) e.informer.start();
  }

  /** Resolves true once every informer made so far has listed once; false if `signal` aborts first. */
  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    const results = await Promise.all([...this.#entries.values()].map((e) => e.informer.waitForSync(signal)));
    return results.every(Boolean);
  }

  hasSynced(): boolean {
    return [...this.#entries.values()].every((e) => e.informer.hasSynced());
  }

  /** Releases the factory's reference on every informer (a reader still holding one keeps it running). */
  async stop(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    await Promise.all([...this.#entries.values()].map((e) => e.informer.stop()));
  }

  /** How many distinct collections are watched: one list/watch each. */
  get size(): number {
    return this.#entries.size;
  }

  /** The watched collections, for logs and tests. */
  descriptions(): string[] {
    return [...this.#entries.values()].map((e) => e.informer.description);
  }

  /** Every watched collection and its informer, to compare a cache with a fresh LIST (tests, debugging). */
  watched(): Array<{ ref: ResourceRef; informer: Informer<KubernetesObject> }> {
    return [...this.#entries.values()].map((e) => ({ ref: e.ref, informer: e.informer }));
  }

  #requireClients(): KubeClients {
    if (!this.#clients) throw new Error('InformerFactory: no KubeClients and no sourceFor');
    return this.#clients;
  }
}
