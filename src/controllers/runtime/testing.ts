// Test doubles for leader election: a Lease with 409 semantics whose clients can fail or hang.
import { sleep, type Clock } from '../../util/clock.js';
import type { LeaseRecord, LeaseClient, StoredLease } from './leader-election.js';
import { httpError } from '../../kube/testing.js';
export { silentLogger, FakeListWatch, httpError, obj } from '../../kube/testing.js';

/** One Lease in memory, with the API server's optimistic concurrency (409 on a stale resourceVersion). */
export class MemoryLease {
  state: StoredLease | undefined;
  #rv = 0;
  writes = 0;
  readonly #watchers = new Set<(l: StoredLease | undefined) => void>();

  /** A client of this lease; each can be made to fail or hang on its own. */
  client(): MemoryLeaseClient {
    return new MemoryLeaseClient(this);
  }

  /** @internal */
  write(record: LeaseRecord): StoredLease {
    this.writes++;
    this.state = { record: { ...record }, resourceVersion: String(++this.#rv) };
    this.#notify();
    return clone(this.state);
  }

  /** Deletes the Lease (an operator's kubectl delete). */
  delete(): void {
    this.state = undefined;
    this.#notify();
  }

  /** @internal Like a watch: each change reaches the watchers a microtask after it is made. */
  subscribe(fn: (l: StoredLease | undefined) => void): () => void {
    this.#watchers.add(fn);
    return () => this.#watchers.delete(fn);
  }

  #notify(): void {
    const now = this.state && clone(this.state);
    for (const w of this.#watchers) queueMicrotask(() => w(now && clone(now)));
  }
}

export class MemoryLeaseClient implements LeaseClient {
  readonly description = 'leases/test/lease';
  /** While set, every call rejects with this error. */
  failWith: Error | undefined;
  /** While true, every call hangs forever (a partitioned client). */
  hang = false;
  /** If set, each answer reaches the caller only after this long on `clock` (the write is done at once). */
  slowAnswers: { clock: Clock; ms: number } | undefined;

  /** Give the client a watch (LeaseClient.watch): changes arrive a microtask after each write, none while it fails or hangs. */
  watch?: (onChange: (l: StoredLease | undefined) => void) => () => void;

  constructor(private readonly lease: MemoryLease) {}

  /** Turns on LeaseClient.watch for this client. */
  withWatch(): this {
    this.watch = (onChange) => this.lease.subscribe((l) => {
      if (!this.hang && !this.failWith) onChange(l);
    });
    return this;
  }

  async get(): Promise<StoredLease | undefined> {
    await this.#gate();
    return this.lease.state && clone(this.lease.state);
  }

  async create(record: LeaseRecord): Promise<StoredLease> {
    await this.#gate();
    if (this.lease.state) throw httpError(409, 'leases "lease" already exists');
    return this.lease.write(record);
  }

  async update(record: LeaseRecord, resourceVersion: string): Promise<StoredLease> {
    await this.#gate();
    if (!this.lease.state) throw httpError(404, 'not found');
    if (this.lease.state.resourceVersion !== resourceVersion) throw httpError(409, 'the object has been modified');
    const written = this.lease.write(record);
    if (this.slowAnswers) await sleep(this.slowAnswers.clock, this.slowAnswers.ms);
    return written;
  }

  async #gate(): Promise<void> {
    if (this.hang) await new Promise(() => {});
    if (this.failWith) throw this.failWith;
  }
}

function clone(l: StoredLease): StoredLease {
  return { resourceVersion: l.resourceVersion, record: { ...l.record } };
}
