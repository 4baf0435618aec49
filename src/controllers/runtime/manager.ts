// The manager runs controllers only while this replica leads, and shuts down gracefully:
// stop taking work → let in-flight reconciles finish (bounded) → release the Lease → exit.
import type { Logger } from 'pino';
import type { Clock } from '../../util/clock.js';
import type { Runnable } from './controller.js';
import { LeaderElector, type LeaderElectionTimings, type LeaseClient } from './leader-election.js';

export interface ManagerOptions {
  clock: Clock;
  log: Logger;
  /**
   * The process's shared informer cache (InformerFactory). start() starts it before competing for
   * the Lease, and stop() leaves it running (the process stops it last): caches stay warm across
   * leadership terms, so a standby that becomes leader reconciles from a synced cache.
   */
  informers?: { start(): void };
  /** Run only while holding this Lease; omit to run at once (single replica, tests). */
  leaderElection?: LeaderElectionTimings & { client: LeaseClient; identity: string; random?: () => number };
  /**
   * How long a graceful stop waits for in-flight reconciles (default 30 s). After a lost lease they
   * get only until a successor may lead (leaseDuration − renewDeadline, 5 s by default, after the
   * last renewal; nothing if another holder already has it), then their signal aborts.
   */
  shutdownTimeoutMs?: number;
}

/**
 * Runnables are made fresh for each leadership term by their factories: a controller whose queue
 * was shut down cannot be restarted, and a new term must start from a fresh list anyway.
 */
export type RunnableFactory = () => Runnable;

export class Manager {
  readonly #o: ManagerOptions;
  readonly #log: Logger;
  readonly #factories: RunnableFactory[] = [];
  readonly #elector: LeaderElector | undefined;
  #active: Runnable[] = [];
  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  #error: unknown;
  #settle!: () => void;
  /** Settles when the manager has stopped; rejects if a runnable failed to start. */
  readonly done: Promise<void>;

  constructor(opts: ManagerOptions) {
    this.#o = opts;
    this.#log = opts.log.child({ component: 'manager' });
    this.done = new Promise<void>((resolve, reject) => {
      this.#settle = () => (this.#error === undefined ? resolve() : reject(this.#error));
    });
    this.done.catch(() => {}); // callers who never await done must not see an unhandled rejection
    const le = opts.leaderElection;
    if (le) {
      this.#elector = new LeaderElector({
        ...le,
        clock: opts.clock,
        log: opts.log,
        onStartedLeading: () => this.#startAll(),
        // After a lost lease, in-flight reconciles get until a successor may lead (at most the
        // shutdown timeout); then their signal aborts.
        onStoppedLeading: (why) =>
          this.#stopAll(why.reason === 'lost' ? Math.min(this.#shutdownTimeoutMs(), why.successorMayLeadInMs) : this.#shutdownTimeoutMs()),
      });
    }
  }

  add(factory: RunnableFactory): void {
    if (this.#state !== 'new') throw new Error('add runnables before start()');
    this.#factories.push(factory);
  }

  isLeader(): boolean {
    return this.#elector ? this.#elector.isLeader() : this.#state === 'running';
  }

  /** Names of the runnables running now. */
  active(): string[] {
    return this.#active.map((r) => r.name);
  }

  get elector(): LeaderElector | undefined {
    return this.#elector;
  }

  /** Starts competing for the Lease (or starts the runnables at once without leader election). */
  start(): void {
    if (this.#state !== 'new') throw new Error('manager already started');
    this.#state = 'running';
    this.#o.informers?.start();
    if (!this.#elector) return this.#startAll();
    this.#elector.run().then(
      () => this.#finish(),
      (err: unknown) => {
        this.#error ??= err;
        this.#finish();
      },
    );
  }

  /** Graceful stop: stops the runnables (bounded by shutdownTimeoutMs), then releases the Lease. */
  async stop(): Promise<void> {
    if (this.#state === 'new') return this.#finish();
    if (this.#state !== 'running') return this.done.catch(() => {});
    this.#state = 'stopping';
    this.#log.info('stopping');
    if (this.#elector) await this.#elector.stop();
    else await this.#stopAll();
    this.#finish();
  }

  #startAll(): void {
    if (this.#state !== 'running') return;
    this.#active = this.#factories.map((f) => f());
    this.#log.info({ runnables: this.active() }, 'starting runnables');
    for (const r of this.#active) {
      r.start().catch((err: unknown) => {
        this.#log.error({ err, runnable: r.name }, 'runnable failed to start; stopping the manager');
        this.#error ??= err;
        void this.stop();
      });
    }
  }

  #shutdownTimeoutMs(): number {
    return this.#o.shutdownTimeoutMs ?? 30_000;
  }

  async #stopAll(timeoutMs = this.#shutdownTimeoutMs()): Promise<void> {
    const active = this.#active;
    this.#active = [];
    if (active.length === 0) return;
    const drained = await Promise.all(active.map((r) => r.stop(timeoutMs)));
    this.#log.info({ runnables: active.map((r) => r.name), drained: drained.every(Boolean) }, 'runnables stopped');
  }

  #finish(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#log.info('stopped');
    this.#settle();
  }
}

export interface SignalSource {
  on(signal: 'SIGTERM' | 'SIGINT', fn: () => void): unknown;
  removeListener(signal: 'SIGTERM' | 'SIGINT', fn: () => void): unknown;
}

export interface ShutdownOptions {
  log: Logger;
  clock: Clock;
  /** Where signals come from (default process). */
  signals?: SignalSource;
  /** Called once with the exit code (default process.exit). */
  exit?: (code: number) => void;
  /** Exit with code 1 if the graceful stop takes longer than this (default 60 s). */
  hardDeadlineMs?: number;
}

/**
 * SIGTERM/SIGINT → manager.stop() (stop taking work, drain in-flight reconciles, release the
 * Lease) → exit(0). A second signal, or the hard deadline, → exit(1) at once.
 * Returns a function that removes the handlers.
 */
export function handleShutdownSignals(manager: Manager, opts: ShutdownOptions): () => void {
  const signals = opts.signals ?? process;
  const hardDeadlineMs = opts.hardDeadlineMs ?? 60_000;
  let exited = false;
  const exit = (code: number): void => {
    if (exited) return;
    exited = true;
    (opts.exit ?? ((c: number) => process.exit(c)))(code);
  };
  let stopping = false;
  const onSignal = (name: 'SIGTERM' | 'SIGINT'): void => {
    if (stopping) {
      opts.log.warn({ signal: name }, 'second signal; exiting now');
      return exit(1);
    }
    stopping = true;
    opts.log.info({ signal: name }, 'shutting down gracefully');
    const hard = opts.clock.setTimeout(() => {
      opts.log.error({ hardDeadlineMs }, 'graceful shutdown took too long; exiting');
      exit(1);
    }, hardDeadlineMs);
    manager.stop().then(
      () => {
        opts.clock.clearTimeout(hard);
        exit(0);
      },
      (err: unknown) => {
        opts.clock.clearTimeout(hard);
        opts.log.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  const onTerm = (): void => onSignal('SIGTERM');
  const onInt = (): void => onSignal('SIGINT');
  signals.on('SIGTERM', onTerm);
  signals.on('SIGINT', onInt);
  return () => {
    signals.removeListener('SIGTERM', onTerm);
    signals.removeListener('SIGINT', onInt);
  };
}
