// Test doubles for the runtime: a scriptable list/watch source and a silent logger. Used by the
// runtime's own unit tests and by controllers' tests; no cluster needed.
import type { KubernetesObject } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import type { ListResult, ListWatchSource, WatchHandle } from './informer.js';
import { sleep, type Clock } from '../../util/clock.js';
import type { LeaseRecord, LeaseStore, StoredLease } from './leader-election.js';

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export interface FakeWatch {
  resourceVersion: string;
  emit(type: string, obj: unknown): void;
  /** Ends the watch: null for a clean close, or an error. */
  end(err?: unknown): void;
  aborted: boolean;
}

type ListStep<T> = ListResult<T> | Error | 'hang';
type WatchStep = 'open' | Error;

/**
 * A ListWatchSource driven by the test: queue list results (errors, or 'hang') with nextList(), watch
 * outcomes with nextWatch() (default: open, and stay open until the test ends it), then drive the
 * open watch through `current`.
 */
export class FakeListWatch<T extends KubernetesObject> implements ListWatchSource<T> {
  readonly description = 'fake';
  readonly lists: Array<ListStep<T>> = [];
  readonly watchSteps: WatchStep[] = [];
  readonly watches: FakeWatch[] = [];
  listCalls = 0;

  nextList(...steps: Array<ListStep<T>>): this {
    this.lists.push(...steps);
    return this;
  }

  nextWatch(...steps: WatchStep[]): this {
    this.watchSteps.push(...steps);
    return this;
  }

  /** The most recent watch. */
  get current(): FakeWatch | undefined {
    return this.watches.at(-1);
  }

  async list(): Promise<ListResult<T>> {
    this.listCalls++;
    const step = this.lists.shift();
    if (!step) throw new Error('FakeListWatch: no list result queued');
    if (step === 'hang') return new Promise<ListResult<T>>(() => {});
    if (step instanceof Error) throw step;
    return { items: [...step.items], resourceVersion: step.resourceVersion };
  }

  async watch(resourceVersion: string, onEvent: (type: string, obj: unknown) => void, onDone: (err: unknown) => void): Promise<WatchHandle> {
    const step = this.watchSteps.shift() ?? 'open';
    let done = false;
    const w: FakeWatch = {
      resourceVersion,
      aborted: false,
      emit: (type, obj) => {
        if (!done) onEvent(type, obj);
      },
      end: (err) => {
        if (done) return;
        done = true;
        onDone(err ?? null);
      },
    };
    this.watches.push(w);
    if (step instanceof Error) {
      // As client-node's Watch does for a non-200 response: done(err) before returning.
      w.end(step);
    }
    return {
      abort: () => {
        w.aborted = true;
        w.end(Object.assign(new Error('aborted'), { name: 'AbortError' }));
      },
    };
  }
}

/** An HTTP-ish error with a status code, like client-node's Watch and ApiException produce. */
export function httpError(code: number, message = `HTTP ${code}`): Error & { code: number; statusCode: number } {
  return Object.assign(new Error(message), { code, statusCode: code });
}

/** A minimal object for tests. */
export function obj(
  namespace: string | undefined,
  name: string,
  resourceVersion: string,
  extra: Partial<KubernetesObject> & { metadata?: KubernetesObject['metadata'] } = {},
): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    ...extra,
    metadata: { namespace, name, resourceVersion, ...extra.metadata },
  };
}

/** One Lease in memory, with the API server's optimistic concurrency (409 on a stale resourceVersion). */
export class MemoryLease {
  state: StoredLease | undefined;
  #rv = 0;
  writes = 0;

  /** A client of this lease; each can be made to fail or hang on its own. */
  client(): MemoryLeaseClient {
    return new MemoryLeaseClient(this);
  }

  /** @internal */
  write(record: LeaseRecord): StoredLease {
    this.writes++;
    this.state = { record: { ...record }, resourceVersion: String(++this.#rv) };
    return clone(this.state);
  }
}

export class MemoryLeaseClient implements LeaseStore {
  readonly description = 'leases/test/lease';
  /** While set, every call rejects with this error. */
  failWith: Error | undefined;
  /** While true, every call hangs forever (a partitioned client). */
  hang = false;
  /** If set, each answer reaches the caller only after this long on `clock` (the write is done at once). */
  slowAnswers: { clock: Clock; ms: number } | undefined;

  constructor(private readonly lease: MemoryLease) {}

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
