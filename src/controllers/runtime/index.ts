// Hearth's small controller runtime (sample-controller / controller-runtime in TypeScript).
// No domain code here: informers, work queue, controller, leader election, manager, clients.
export { KubeClients, DEFAULT_CLIENT_SETTINGS, type ClientSettings } from '../../kube/client.js';
export { Controller, generationChanged, type ControllerOptions, type ControllerStats, type Runnable, type UpdatePredicate } from './controller.js';
export {
  Informer,
  DeletedFinalStateUnknown,
  WatchStatusError,
  isGone,
  stripManagedFields,
  unwrapTombstone,
  type EventHandlers,
  type InformerOptions,
  type ListResult,
  type ListWatchSource,
  type WatchHandle,
} from '../../kube/informer.js';
export { keyOf, objectKey, splitKey } from '../../kube/keys.js';
export { InformerCache, KubeListWatch, collectionPath, type KubeSourceOptions, type ResourceRef } from '../../kube/kube-source.js';
export {
  KubeLeaseStore,
  LeaderElector,
  defaultIdentity,
  type LeaderElectionTimings,
  type LeaderElectorOptions,
  type LeaseRecord,
  type LeaseStore,
  type StoppedLeading,
  type StoredLease,
} from './leader-election.js';
export { Manager, handleShutdownSignals, type ManagerOptions, type RunnableFactory, type ShutdownOptions, type SignalSource } from './manager.js';
export { controllerOf, enqueueMapped, enqueueObject, enqueueOwner, ownerKey, refersTo, type OwnerType } from './owner-refs.js';
export {
  Backoff,
  BucketRateLimiter,
  ItemExponentialRateLimiter,
  MaxOfRateLimiter,
  TokenBucket,
  defaultControllerRateLimiter,
  type ControllerRateLimiterOptions,
  type RateLimiter,
} from '../../util/rate-limiter.js';
export { TerminalError, apiStatus, isConflict, isNotFound, isTerminal, type ReconcileContext, type Reconciler, type Result } from './result.js';
export { WorkQueue, type WorkQueueOptions } from './work-queue.js';
