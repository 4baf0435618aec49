// The reconciled object during one pass, and what a reconciler remembers of its own writes between
// passes (read your own writes). Every controller needs both: its status write and its finalizer
// patch return a new resourceVersion the informer cache has not seen yet, and a pass that starts
// before the cache catches up (a child event, a retry) must not decide on the old object — it
// would write the same status again and fail with a conflict.
//
//   const obj = new PassObject(writer, ownWrites.read(key, lister.get(key)));
//   await obj.addFinalizer(FINALIZER);          // moves obj.current to the patched object
//   … decide, write children …
//   await obj.writeStatus(next, statusEqual);    // once per pass, only if it changed
//   ownWrites.remember(key, read, obj);
import type { KubernetesObject } from '@kubernetes/client-node';
import { stripManagedFields } from '../../kube/informer.js';
import { addFinalizer, removeFinalizer } from './finalizers.js';
import type { ObjectWriter, StatusOf, WithStatus } from './writer.js';

/** Semantic equality of two statuses; the default compares JSON (key order matters). */
export type StatusEqual = (a: unknown, b: unknown) => boolean;

const jsonEqual: StatusEqual = (a, b) => JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});

/**
 * The primary object as one pass sees it: `current` is the version to write against (each write
 * of ours moves it to what the API server returned), `superseded` the resourceVersions those
 * writes replaced. The status is written at most once per pass, and only when it changed.
 */
export class PassObject<T extends WithStatus> {
  #cur: T;
  readonly superseded: string[] = [];
  #statusWritten = false;

  constructor(
    private readonly writer: Pick<ObjectWriter, 'updateStatus' | 'setFinalizers'>,
    obj: T,
  ) {
    this.#cur = obj;
  }

  get current(): T {
    return this.#cur;
  }

  /** Moves on to the object a write of ours returned. */
  advance(next: T): void {
    const rv = this.#cur.metadata?.resourceVersion;
    if (rv !== undefined) this.superseded.push(rv);
    this.#cur = next;
  }

  async addFinalizer(name: string): Promise<void> {
    const next = await addFinalizer(this.writer, this.#cur, name);
    if (next) this.advance(next);
  }

  async removeFinalizer(name: string): Promise<void> {
    const next = await removeFinalizer(this.writer, this.#cur, name);
    if (next) this.advance(next);
  }

  /**
   * The one status write of the pass: skipped when `next` equals the current status. True if it
   * wrote. A second call in the same pass is a bug in the reconciler (two writes where one would
   * do, the second racing the first's watch event) and throws.
   */
  async writeStatus(next: StatusOf<T>, equal: StatusEqual = jsonEqual): Promise<boolean> {
    if (this.#statusWritten) throw new Error(`${this.#cur.kind} ${this.#cur.metadata?.name}: status written twice in one pass`);
    this.#statusWritten = true;
    if (equal(this.#cur.status, next)) return false;
    this.advance(await this.writer.updateStatus(this.#cur, next));
    return true;
  }
}

/**
 * What a pass last wrote to an object, kept until the informer cache has caught up: `obj` is the
 * object the API server returned, `superseded` the resourceVersions it replaced. A cache still
 * serving one of those is behind our own write.
 */
interface OwnWrite<T> {
  obj: T;
  superseded: Set<string>;
}

/** Read your own writes across passes, per key. One per reconciler (per leadership term). */
export class OwnWrites<T extends KubernetesObject> {
  readonly #written = new Map<string, OwnWrite<T>>();

  /**
   * The object as of our own last write when the cache has not seen that write yet. Once the cache
   * holds anything else (our write, or a newer one by someone else), the cache wins.
   */
  read(key: string, cached: T | undefined): T | undefined {
    const own = this.#written.get(key);
    if (!own) return cached;
    const rv = cached?.metadata?.resourceVersion;
    if (rv !== undefined && own.superseded.has(rv)) return own.obj;
    this.#written.delete(key);
    return cached;
  }

  /** After a pass that started from `read`: remember what its writes returned, if it wrote. */
  remember(key: string, read: T, pass: Pick<PassObject<T & WithStatus>, 'superseded' | 'current'>): void {
    if (pass.superseded.length === 0) return;
    const prev = this.#written.get(key);
    const superseded = new Set(prev?.obj === read ? prev.superseded : []);
    for (const rv of pass.superseded) superseded.add(rv);
    this.#written.set(key, { obj: stripManagedFields(pass.current), superseded });
  }

  /** Keys with a write the cache has not shown yet (tests, debugging). */
  get size(): number {
    return this.#written.size;
  }
}
