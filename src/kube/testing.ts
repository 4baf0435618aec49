// Test doubles for the informer layer: a scriptable list/watch source and a silent logger. Used by
// its own unit tests, the controller runtime's and controllers' tests; no cluster needed.
import type { KubernetesObject } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import type { ListResult, ListWatchSource, WatchHandle } from './informer.js';

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

  async list(project: (raw: T) => T): Promise<ListResult<T>> {
    this.listCalls++;
    const step = this.lists.shift();
    if (!step) throw new Error('FakeListWatch: no list result queued');
    if (step === 'hang') return new Promise<ListResult<T>>(() => {});
    if (step instanceof Error) throw step;
    return { items: step.items.map(project), resourceVersion: step.resourceVersion };
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

