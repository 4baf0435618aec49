// Read-your-writes on top of a shared informer: a reader's own writes (and fresh reads) laid over
// the informer's cache, without touching the cache other readers share.
//
// A REST client that creates an object and lists at once must see it, though the watch event that
// brings it into the informer may trail the write's response by some milliseconds. The overlay
// keeps what the API server answered — the written object, or a deletion — and serves it in place
// of the informer's copy until the informer has caught up with it; then the informer's copy (the
// same write, or something newer) is what readers get, and the overlay entry goes.
//
// "Caught up" compares resourceVersions as etcd revisions (integers, one sequence per resource
// type, as every watch delivers them in order): the informer has caught up with an entry once its
// own resourceVersion, or its copy of the object's, is not older than the entry's. A resourceVersion
// that is not an integer is opaque: then the entry holds until the informer's copy of that object
// changes from what it was when the entry was made. Entries also expire after `ttlMs`, so an
// informer that never catches up (stopped, failing) cannot keep a stale view alive for ever.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Clock } from '../util/clock.js';
import type { Informer } from './informer.js';
import { keyOf, objectKey } from './keys.js';

interface Entry<T> {
  namespace: string | undefined;
  /** The server's answer; undefined for a deletion. */
  obj: T | undefined;
  /** The entry's resourceVersion (the write's, or the deletion's when the server said it). */
  rv: string | undefined;
  /** The resourceVersion of the informer's copy when the entry was made (undefined: none). */
  cachedRv: string | undefined;
  at: number;
}

export interface WriteOverlayOptions {
  clock: Clock;
  /** How long an entry may outlive an informer that does not catch up (default 5 min). */
  ttlMs?: number;
}

const DEFAULT_TTL_MS = 5 * 60_000;

function revision(rv: string | undefined): bigint | undefined {
  return rv !== undefined && /^\d+$/.test(rv) ? BigInt(rv) : undefined;
}

/** True when resourceVersion `a` is known to be older than `b` (both etcd revisions). */
export function isOlderVersion(a: string | undefined, b: string | undefined): boolean {
  const ra = revision(a);
  const rb = revision(b);
  return ra !== undefined && rb !== undefined && ra < rb;
}

export class WriteOverlay<T extends KubernetesObject> {
  readonly #informer: Informer<T>;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #entries = new Map<string, Entry<T>>();

  constructor(informer: Informer<T>, opts: WriteOverlayOptions) {
    this.#informer = informer;
    this.#clock = opts.clock;
    this.#ttlMs = opts.ttlMs ?? DEFAULT_TTL_MS;
  }

  /** The server's answer to a write or a read: readers see it (or something newer) from now on. */
  put(obj: T): void {
    const key = objectKey(obj);
    const rv = obj.metadata?.resourceVersion;
    // An answer older than what readers already see (a slow read racing a write, a trailing read
    // of a deleted object) changes nothing.
    const e = this.#live(key);
    const seen = e ? e.rv : this.#informer.get(key)?.metadata?.resourceVersion;
    if (isOlderVersion(rv, seen) || (e?.obj === undefined && e?.rv !== undefined && rv === e.rv)) return;
    this.#set(key, { namespace: obj.metadata?.namespace, obj, rv });
  }

  /**
   * A deletion the server confirmed (or answered 404 to): readers stop seeing the object. With the
   * deletion's resourceVersion, an older copy never comes back (a trailing watch event), a newer
   * one (re-created) does.
   */
  remove(namespace: string | undefined, name: string, resourceVersion?: string): void {
    this.#set(keyOf(namespace, name), { namespace, obj: undefined, rv: resourceVersion });
  }

  /** The object readers see under `key` (`namespace/name`, or `name`). */
  get(key: string): T | undefined {
    const e = this.#live(key);
    return e ? e.obj : this.#informer.get(key);
  }

  /** The objects readers see, of one namespace or all. */
  list(namespace?: string): T[] {
    const out = new Map<string, T>();
    for (const o of this.#informer.list(namespace)) out.set(objectKey(o), o);
    for (const key of [...this.#entries.keys()]) {
      const e = this.#live(key);
      if (!e || (namespace !== undefined && e.namespace !== namespace)) continue;
      if (e.obj) out.set(key, e.obj);
      else out.delete(key);
    }
    return [...out.values()];
  }

  /** Entries not yet superseded by the informer (for tests and logs). */
  get size(): number {
    this.#sweep();
    return this.#entries.size;
  }

  #set(key: string, e: Omit<Entry<T>, 'cachedRv' | 'at'>): void {
    this.#sweep();
    this.#entries.set(key, { ...e, cachedRv: this.#informer.get(key)?.metadata?.resourceVersion, at: this.#clock.now() });
  }

  /** The entry under `key` if it still stands; a superseded one is dropped. */
  #live(key: string): Entry<T> | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (this.#stands(key, e)) return e;
    this.#entries.delete(key);
    return undefined;
  }

  #stands(key: string, e: Entry<T>): boolean {
    if (this.#clock.now() - e.at > this.#ttlMs) return false;
    const cachedRv = this.#informer.get(key)?.metadata?.resourceVersion;
    const ours = revision(e.rv);
    if (ours === undefined) {
      // Opaque or unknown resourceVersion: hold until the informer's copy of this object changes.
      return cachedRv === e.cachedRv;
    }
    // The informer has applied every event up to its own resourceVersion: ours, or a newer one.
    const seen = revision(this.#informer.resourceVersion);
    if (seen !== undefined && seen >= ours) return false;
    return !isOlderVersion(e.rv, cachedRv);
  }

  /** Drops every superseded entry (writes are few; this keeps the map from growing). */
  #sweep(): void {
    for (const key of [...this.#entries.keys()]) this.#live(key);
  }
}
