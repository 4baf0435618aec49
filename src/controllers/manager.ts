// The controller manager of a process: ONE Lease, ONE shared informer cache, every controller
// registered here with its own work queue and workers. See README.md for adding a controller.
//
// - The Lease: only the replica holding it runs controllers (runtime/manager.ts); the others stand by.
// - The cache: the process's InformerFactory (src/kube/informer-factory.ts). Each controller's
//   informers are asked for here, at process start, and the factory is started with the manager,
//   so a standby lists and watches too: when it becomes leader its controllers start on synced
//   caches (no relist on takeover), and a lost-and-regained lease does not relist either.
// - Registration: a controller gives `declare` (the informers it reads, asked for once) and
//   `make` (a fresh Runnable per leadership term: a stopped work queue is never reused).
import { CoordinationV1Api } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import type { KubeClients } from '../kube/client.js';
import type { InformerFactory } from '../kube/informer-factory.js';
import { realClock, type Clock } from '../util/clock.js';
import { batchInferenceJobInformers } from './batch-inference-job/cache.js';
import { batchInferenceJobController, DEFAULT_BATCH_INFERENCE, type BatchInferenceSettings } from './batch-inference-job/controller.js';
import { batchJobInformers } from './batch-job/cache.js';
import { batchJobController, DEFAULT_BATCH_JOB, type BatchJobSettings } from './batch-job/controller.js';
import { deployedModelInformers } from './deployed-model/cache.js';
import { deployedModelController, type DeployedModelSettings } from './deployed-model/controller.js';
import { deploymentInformers } from './deployment/cache.js';
import { deploymentController, type DeploymentControllerOptions } from './deployment/controller.js';
import { OrphanHoldSweeper, listAllDeployments } from './deployment/orphan-holds.js';
import { namespacesInformer } from './runtime/projections.js';
import { DbQuotaLedger } from './deployment/quota-ledger.js';
import { environmentInformers } from './environment/cache.js';
import { environmentController, type EnvironmentSettings } from './environment/controller.js';
import { meteringInformers, meteringRunnable } from './metering/metering.js';
import { nodePoolInformers } from './node-pool/cache.js';
import { nodePoolController, type NodePoolSettings } from './node-pool/controller.js';
import { sftJobInformers } from './sft-job/cache.js';
import { sftJobController, type SFTJobSettings } from './sft-job/controller.js';
import type { Runnable } from './runtime/controller.js';
import { KubeLeaseClient, defaultIdentity, type LeaderElectionTimings } from './runtime/leader-election.js';
import { Manager } from './runtime/manager.js';

/**
 * The Lease's default name (HEARTH_LEADER_ELECTION_LEASE_NAME overrides it). It predates the
 * manager's other controllers; kept so replicas of an older and a newer version never lead at once
 * during a rolling upgrade.
 */
export const DEFAULT_LEASE_NAME = 'hearth-deployment-controller';

/** What every controller gets from the process: one client, one cache, one database, one clock. */
export interface ControllerContext {
  clients: KubeClients;
  informers: InformerFactory;
  db: Db;
  clock: Clock;
  log: Logger;
}

/** A controller as the manager knows it. */
export interface ControllerRegistration {
  name: string;
  /** Asks the shared factory for every informer the controller reads (once, at process start). */
  declare(ctx: ControllerContext): void;
  /** A fresh Runnable for a leadership term (a runtime Controller with its queue and workers, or any Runnable). */
  make(ctx: ControllerContext): Runnable;
}

export interface ControllerManagerOptions extends Omit<ControllerContext, 'clock'> {
  clock?: Clock;
  /** Run only while holding this Lease (N replicas, one leader); omit for a single replica. */
  leaderElection?: LeaderElectionTimings & { namespace: string; name?: string; identity?: string };
  /** The Deployment controller's settings (workers, selector, autoscaler, …). */
  deployment?: Omit<DeploymentControllerOptions, 'clients' | 'informers' | 'quotas' | 'clock' | 'log'>;
  /** The DeployedModel controller's settings (namespace, poll interval, how replicas are dialled). */
  deployedModel?: DeployedModelSettings;
  /** Record GPU-seconds in the usage ledger (default true; settings: its intervals); only the leader meters. */
  metering?: boolean | { intervalMs?: number; flushIntervalMs?: number };
  /** Run batch inference jobs through this gateway (unset: they are not run). */
  batchInference?: Partial<BatchInferenceSettings> & Pick<BatchInferenceSettings, 'gatewayUrl'>;
  /**
   * Run the NodePool controller with these settings (unset: not run). Mode `controller` sets it
   * unless the Deployment controller is sharded (HEARTH_CONTROLLER_SELECTOR): pools are not
   * sharded, so shards would reconcile the same pools.
   */
  nodePool?: NodePoolSettings;
  /** Run the Environment controller with these settings (unset: not run). */
  environment?: EnvironmentSettings;
  /** The BatchJob controller's settings (log retention); it always runs. */
  batchJob?: Partial<BatchJobSettings>;
  /** Run supervised fine-tuning jobs with this trainer (unset: they are not run). */
  sftJob?: SFTJobSettings;
  shutdownTimeoutMs?: number;
  /**
   * The orphan hold sweep's interval and grace (tests shorten them); `off`: never sweep
   * (HEARTH_ORPHAN_HOLD_SWEEP=off).
   */
  orphanHolds?: { intervalMs?: number; graceMs?: number; off?: boolean };
}

/** The controllers of the `controller` mode, in start order. */
export function registrations(o: ControllerManagerOptions): ControllerRegistration[] {
  const deployment: ControllerRegistration = {
    name: 'deployment',
    declare: (ctx) => void deploymentInformers(ctx.informers, o.deployment?.selector),
    make: (ctx) => deploymentController({ ...o.deployment, ...ctx, quotas: new DbQuotaLedger(ctx.db, ctx.clock) }),
  };
  const deployedModel: ControllerRegistration = {
    name: 'deployedmodel',
    declare: (ctx) => void deployedModelInformers(ctx.informers, o.deployedModel?.namespace, o.deployment?.selector),
    // The DeployedModels of the Deployments this manager reconciles (the same selector).
    make: (ctx) => deployedModelController({ ...o.deployedModel, ...(o.deployment?.selector ? { deploymentSelector: o.deployment.selector } : {}), ...ctx }),
  };
  const metering: ControllerRegistration = {
    name: 'metering',
    declare: (ctx) => void meteringInformers(ctx.informers),
    make: (ctx) => meteringRunnable({ ...ctx, ...(typeof o.metering === 'object' ? o.metering : {}) }),
  };
  const regs = o.metering === false ? [deployment, deployedModel] : [deployment, deployedModel, metering];
  const np = o.nodePool;
  if (np) {
    regs.push({
      name: 'nodepool',
      declare: (ctx) => void nodePoolInformers(ctx.informers, np.namespace),
      make: (ctx) => nodePoolController({ ...np, ...ctx }),
    });
  }
  regs.push({
    name: 'batch-job',
    declare: (ctx) => void batchJobInformers(ctx.informers, o.batchJob?.namespace),
    make: (ctx) => batchJobController({ ...ctx, settings: { ...DEFAULT_BATCH_JOB, ...o.batchJob } }),
  });
  // Frees holds of deployments that no longer exist: the safety net under the Deployment
  // controller's release on delete (it adds no finalizer). A shard (selector) caches only its own
  // Deployments, so its sweeper lists them all from the API server at each sweep instead.
  const sharded = o.deployment?.selector !== undefined && o.deployment.selector !== '';
  if (o.orphanHolds?.off !== true)
    regs.push({
      name: 'deployment-orphan-holds',
      declare: (ctx) => void (sharded ? namespacesInformer(ctx.informers) : deploymentInformers(ctx.informers)),
      make: (ctx) => new OrphanHoldSweeper({ ...ctx, ...o.orphanHolds, ...(sharded ? { listDeployments: listAllDeployments(ctx.clients) } : {}) }),
    });
  const bij = o.batchInference;
  if (bij) {
    regs.push({
      name: 'batch-inference-job',
      declare: (ctx) => void batchInferenceJobInformers(ctx.informers),
      make: (ctx) => batchInferenceJobController({ ...ctx, settings: { ...DEFAULT_BATCH_INFERENCE, ...bij } }),
    });
  }
  const env = o.environment;
  if (env) {
    regs.push({
      name: 'environment',
      declare: (ctx) => void environmentInformers(ctx.informers, env.namespace),
      make: (ctx) => environmentController({ ...env, ...ctx }),
    });
  }
  const sft = o.sftJob;
  if (sft) {
    regs.push({
      name: 'sft-job',
      declare: (ctx) => void sftJobInformers(ctx.informers, sft.namespace),
      make: (ctx) => sftJobController({ ...ctx, settings: sft }),
    });
  }
  return regs;
}

/**
 * The manager of the `controller` mode, ready to start: `manager.start()` starts the shared cache
 * and competes for the Lease; `await manager.done` rejects if a controller could not start (the
 * process must then exit non-zero); `manager.stop()` on SIGTERM.
 */
export function controllerManager(o: ControllerManagerOptions, regs: ControllerRegistration[] = registrations(o)): Manager {
  const ctx: ControllerContext = { clients: o.clients, informers: o.informers, db: o.db, clock: o.clock ?? realClock, log: o.log };
  const le = o.leaderElection;
  const manager = new Manager({
    clock: ctx.clock,
    log: o.log,
    informers: o.informers,
    shutdownTimeoutMs: o.shutdownTimeoutMs,
    ...(le
      ? {
          leaderElection: {
            ...le,
            // Watched as well as polled: a standby times the lease's expiry from each renewal as it is written.
            client: new KubeLeaseClient(o.clients.api(CoordinationV1Api), le.namespace, le.name ?? DEFAULT_LEASE_NAME, { clients: o.clients, clock: ctx.clock, log: o.log }),
            identity: le.identity ?? defaultIdentity(),
          },
        }
      : {}),
  });
  for (const r of regs) {
    r.declare(ctx);
    manager.add(() => r.make(ctx));
  }
  return manager;
}
