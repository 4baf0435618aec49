// What every mode's starter gets from main.ts (the process's shared pieces) and gives back (a
// Service), and how a started process ends: a signal, or a service that failed after it started.
import type { Config } from '../config.js';
import type { NamespaceSeal } from '../crds/account.js';
import type { Database } from '../db/client.js';
import type { LoadAggregator } from '../gateway/index.js';
import type { KubeClients } from '../kube/client.js';
import type { PooledKubeConfig } from '../kube/config.js';
import type { Dialer } from '../kube/dial.js';
import type { InformerFactory } from '../kube/informer-factory.js';
import type { Logger } from '../log.js';

/** Something a mode started; stop() must let in-flight work finish. */
export interface Service {
  name: string;
  stop(): Promise<void>;
  /** Rejects if the service fails after it started (a controller that could not start): the process exits 1. */
  failed?: Promise<never>;
}

/** What the process holds once, whatever modes it runs. */
export interface Shared {
  config: Config;
  log: Logger;
  database: Database;
  kube(): PooledKubeConfig;
  /** The process's one rate-limited API client (HEARTH_CONTROLLER_QPS / _BURST). */
  clients: KubeClients;
  /** The process's one informer layer: one watch per collection, whatever number of readers. */
  informers: InformerFactory;
  /** The installation's namespace seal (its secret from PostgreSQL): the API seals account namespaces, every reader verifies. */
  tenancy: NamespaceSeal;
  /**
   * How model-server replicas are reached, by the gateway and the DeployedModel controller alike:
   * the pod IP (`directDialer`), unless a simulated fleet maps it to a loopback fixture
   * (src/kube/dial.ts; `simulated` is then true).
   */
  dial: Dialer;
  simulated?: boolean;
  /** Mode `all`: the gateway's load reports, read by the controller's autoscaler in the same process. */
  load?: LoadAggregator;
  /** Mode `all`: the in-process gateway's URL once it listens (batch inference jobs send their lines there). */
  gatewayUrl?: Deferred<string>;
}

/** A value that arrives later (in mode `all` the gateway starts after the controller). */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export type Starter = (shared: Shared) => Promise<Service>;

/** Somewhere SIGTERM/SIGINT come from (process; an EventEmitter in tests). */
export interface Signals {
  once(signal: 'SIGTERM' | 'SIGINT', fn: () => void): unknown;
  removeListener(signal: 'SIGTERM' | 'SIGINT', fn: () => void): unknown;
}

/**
 * Waits for SIGTERM/SIGINT (→ 0) or for a service to fail (→ 1, e.g. a controller whose caches
 * never synced: an inert controller must not keep the process looking healthy).
 */
export async function untilSignalOrFailure(services: readonly Service[], log: Logger, signals: Signals = process): Promise<number> {
  let onSignal: (() => void) | undefined;
  const signalled = new Promise<number>((resolve) => {
    onSignal = () => resolve(0);
    signals.once('SIGTERM', onSignal);
    signals.once('SIGINT', onSignal);
  });
  const failures = services.map((s) =>
    (s.failed ?? new Promise<never>(() => {})).catch((err: unknown) => {
      log.error({ err, service: s.name }, 'service failed; shutting down');
      return 1;
    }),
  );
  const code = await Promise.race([signalled, ...failures]);
  if (onSignal) {
    signals.removeListener('SIGTERM', onSignal);
    signals.removeListener('SIGINT', onSignal);
  }
  log.info({ exitCode: code }, 'shutting down');
  return code;
}
