// Hearth's small controller runtime (sample-controller / controller-runtime in TypeScript).
// No domain code here: work queue, controller, leader election, manager, the writer, status once,
// read-your-own-writes, owner references, finalizers, events, projections and the fake cluster.
// The informer layer and the clients live in src/kube/ and are re-exported for convenience.
export { KubeClients, DEFAULT_CLIENT_SETTINGS, type ClientSettings } from '../../kube/client.js';
export { Controller, generationChanged, type ControllerOptions, type ControllerStats, type Lister, type Runnable, type UpdatePredicate } from './controller.js';
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
  KubeLeaseClient,
  LeaderElector,
  defaultIdentity,
  type LeaderElectionTimings,
  type LeaderElectorOptions,
  type LeaseRecord,
  type LeaseClient,
  type StoppedLeading,
  type StoredLease,
} from './leader-election.js';
export { Manager, handleShutdownSignals, type ManagerOptions, type RunnableFactory, type ShutdownOptions, type SignalSource } from './manager.js';
export { controllerOf, enqueueMapped, enqueueObject, enqueueOwner, isControlledBy, ownerKey, ownerReference, refersTo, type Owner, type OwnerType } from './owner-refs.js';
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
export { EventRecorder, DEFAULT_EVENT_WINDOW_MS, type EventRecorderOptions } from './events.js';
export { REASON_NAMESPACE_NOT_VERIFIED, inUnverifiedNamespace } from './tenancy.js';
export { addFinalizer, finalizersOf, hasFinalizer, removeFinalizer } from './finalizers.js';
export { OwnWrites, PassObject, type StatusEqual } from './pass.js';
export { GPU_NODES, MANAGED_BY_HEARTH, NAMESPACES, PODS, gpuNodesInformer, isHearths, namespacesInformer, podsInformer, slimChild, slimNode, slimPod } from './projections.js';
export {
  KubeWriter,
  type EventSeries,
  type HearthKinds,
  type HearthObject,
  type KubeWriterOptions,
  type ObjectEvent,
  type ObjectRef,
  type ObjectWriter,
  type StatusOf,
  type WithStatus,
} from './writer.js';
export { TerminalError, apiStatus, isConflict, isNotFound, isTerminal, type ReconcileContext, type Reconciler, type Result } from './result.js';
export { WorkQueue, type WorkQueueOptions } from './work-queue.js';
