// The controller side of bench/deployments.ts, in a process of its own (issue 11 item 4: the
// controller's RSS without the bench client's): the Deployment controller as `hearth controller`
// builds it (deploymentController, DbQuotaLedger, KubeWriter on the process's rate-limited
// clients), limited to one run's objects by a label selector, with the bench's instruments around
// it — nothing in src/ is changed:
// - its API writes counted (and timed) through the `writer` option;
// - its quota ledger calls timed (PostgreSQL round trips);
// - its reconcile durations read from the runtime's own debug line ("reconciled", durationMs);
// - the event loop's delay (perf_hooks), so a slow pass can be told from a busy process.
// Started by bench/deployments.ts with child_process.fork (IPC); never run by hand.
//
//   parent → child: { cmd: 'stats' } | { cmd: 'stop' }
//   child → parent: { type: 'ready', syncMs } | { type: 'stats', … } | { type: 'stopped' } | { type: 'error', message }
//
// Like src/main.ts (the image's entry point), it registers the module shortcuts
// (src/util/module-shortcuts.ts) before anything loads drizzle-orm: what loads it is imported in
// main(), after them, so its RSS is what the production process's would be.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { QuotaLedger } from '../src/controllers/deployment/quota-ledger.js';
import { isConflict } from '../src/controllers/runtime/result.js';
import type { EventSeries, ObjectEvent, ObjectRef, ObjectWriter, StatusOf, WithStatus } from '../src/controllers/runtime/writer.js';
import { registerModuleShortcuts } from '../src/util/module-shortcuts.js';

export interface ChildConfig {
  kubeconfig: string;
  databaseUrl: string;
  selector: string;
  qps: number;
  burst: number;
  workers: number;
}

/** Calls and time spent, by "what" (a write kind, a ledger method). */
export interface Timings {
  calls: Record<string, number>;
  ms: Record<string, number>;
}

export interface ChildStats {
  type: 'stats';
  writes: Record<string, number>;
  failed: Record<string, number>;
  writesTotal: number;
  reconciles: number;
  errors: number;
  reconcileMs: number[];
  worst: { ms: number; key: string };
  queue: { normal: number; low: number; inFlight: number };
  api: Timings;
  ledger: Timings;
  /** Event loop delay over the run (ms): p50, p99, max. */
  loopDelay: { p50: number; p99: number; max: number };
  /** process.memoryUsage() before the controller was made, after its caches synced, and now (bytes). */
  memory: { start: NodeJS.MemoryUsage; synced: NodeJS.MemoryUsage; now: NodeJS.MemoryUsage };
  /** Events the API refused (e.g. in a namespace being deleted): counted, not printed one by one. */
  eventWarnings: number;
}

class Timed {
  readonly t: Timings = { calls: {}, ms: {} };
  async run<R>(what: string, f: () => Promise<R>): Promise<R> {
    const start = performance.now();
    try {
      return await f();
    } finally {
      this.t.calls[what] = (this.t.calls[what] ?? 0) + 1;
      this.t.ms[what] = (this.t.ms[what] ?? 0) + performance.now() - start;
    }
  }
}

/** The controller's writer, each call counted by kind (and refused ones apart) and timed. */
class CountingWriter implements ObjectWriter {
  readonly calls = new Map<string, number>();
  readonly failed = new Map<string, number>();
  readonly timed = new Timed();
  total = 0;
  constructor(private readonly inner: ObjectWriter) {}
  async #count<R>(kind: string, what: string, f: () => Promise<R>): Promise<R> {
    const k = what ? `${kind} ${what}` : kind;
    this.calls.set(k, (this.calls.get(k) ?? 0) + 1);
    this.total++;
    try {
      return await this.timed.run(k, f);
    } catch (e) {
      const reason = isConflict(e) ? 'conflict' : 'error';
      this.failed.set(`${k} (${reason})`, (this.failed.get(`${k} (${reason})`) ?? 0) + 1);
      throw e;
    }
  }
  create(obj: KubernetesObject) {
    return this.#count('create', obj.kind ?? '', () => this.inner.create(obj));
  }
  update(obj: KubernetesObject) {
    return this.#count('update', obj.kind ?? '', () => this.inner.update(obj));
  }
  delete(ref: ObjectRef) {
    return this.#count('delete', ref.kind, () => this.inner.delete(ref));
  }
  updateStatus<T extends WithStatus>(obj: T, status: StatusOf<T>) {
    return this.#count('updateStatus', '', () => this.inner.updateStatus(obj, status));
  }
  setFinalizers<T extends KubernetesObject>(obj: T, finalizers: string[]) {
    return this.#count('setFinalizers', '', () => this.inner.setFinalizers(obj, finalizers));
  }
  patchMetadata<T extends KubernetesObject>(obj: T, patch: Parameters<ObjectWriter['patchMetadata']>[1]) {
    return this.#count('patchMetadata', '', () => this.inner.patchMetadata(obj, patch));
  }
  event(obj: KubernetesObject, e: ObjectEvent, series?: EventSeries) {
    return this.#count('event', '', () => this.inner.event(obj, e, series));
  }
}

/** The ledger with each call timed (every one is a PostgreSQL round trip or a transaction). */
function timedLedger(inner: QuotaLedger, timed: Timed): QuotaLedger {
  return {
    tracksHolds: inner.tracksHolds,
    gpuQuota: (a, q, h) => timed.run('gpuQuota', () => inner.gpuQuota(a, q, h)),
    setHolds: (a, h, t, o) => timed.run('setHolds', () => inner.setHolds(a, h, t, o)),
    releaseAll: (a, h) => timed.run('releaseAll', () => inner.releaseAll(a, h)),
    gpuHoursSpent: (a) => timed.run('gpuHoursSpent', () => inner.gpuHoursSpent(a)),
  };
}

const send = (m: unknown): void => void process.send?.(m);

async function main(): Promise<void> {
  registerModuleShortcuts();
  const [{ deploymentController, EVENT_SOURCE }, { DbQuotaLedger }, { KubeWriter }, { openDatabase }, { KubeClients }, { loadKubeConfig }, { InformerFactory }, { realClock }, { TEST_SEAL }] = await Promise.all([
    import('../src/controllers/deployment/controller.js'),
    import('../src/controllers/deployment/quota-ledger.js'),
    import('../src/controllers/runtime/writer.js'),
    import('../src/db/client.js'),
    import('../src/kube/client.js'),
    import('../src/kube/config.js'),
    import('../src/kube/informer-factory.js'),
    import('../src/util/clock.js'),
    import('../test/support/tenancy.js'),
  ]);
  const cfg = JSON.parse(process.env.HEARTH_BENCH_CHILD ?? '{}') as ChildConfig;
  const memStart = process.memoryUsage();
  const reconcileMs: number[] = [];
  let worst = { ms: -1, key: '' };
  let eventWarnings = 0;
  const log = pino(
    {
      level: 'debug',
      hooks: {
        logMethod(args, method, level) {
          const [obj, msg] = args as unknown as [Record<string, unknown>, string?];
          if (typeof obj?.durationMs === 'number' && (msg === 'reconciled' || msg?.startsWith('reconcile failed'))) {
            const ms = obj.durationMs as number;
            reconcileMs.push(ms);
            if (ms > worst.ms) worst = { ms, key: String((this as unknown as { bindings(): Record<string, unknown> }).bindings().key ?? '?') };
          }
          if (msg === 'could not record an event') eventWarnings++;
          else if (level >= 40) method.apply(this, args);
        },
      },
    },
    pino.destination(2),
  );
  const kc = loadKubeConfig(cfg.kubeconfig);
  const database = await openDatabase({ url: cfg.databaseUrl, maxConnections: 10, applicationName: 'bench-deployments-controller' });
  const clients = new KubeClients(kc, { qps: cfg.qps, burst: cfg.burst });
  const writer = new CountingWriter(new KubeWriter(clients, { component: EVENT_SOURCE }));
  const ledgerTimes = new Timed();
  const controller = deploymentController({
    clients,
    informers: new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log }),
    quotas: timedLedger(new DbQuotaLedger(database.db, realClock), ledgerTimes),
    clock: realClock,
    log,
    selector: cfg.selector,
    writer,
    workers: cfg.workers,
  });
  const t0 = performance.now();
  await controller.start();
  const memSynced = process.memoryUsage();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  send({ type: 'ready', syncMs: performance.now() - t0 });

  process.on('message', (m: { cmd?: string }) => {
    if (m.cmd === 'stats') {
      const q = controller.queue;
      const stats: ChildStats = {
        type: 'stats',
        writes: Object.fromEntries(writer.calls),
        failed: Object.fromEntries(writer.failed),
        writesTotal: writer.total,
        reconciles: controller.stats.reconciles,
        errors: controller.stats.errors,
        reconcileMs,
        worst,
        queue: { normal: q.len('normal'), low: q.len('low'), inFlight: q.inFlight() },
        api: writer.timed.t,
        ledger: ledgerTimes.t,
        loopDelay: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
        memory: { start: memStart, synced: memSynced, now: process.memoryUsage() },
        eventWarnings,
      };
      send(stats);
    } else if (m.cmd === 'stop') {
      void (async () => {
        loop.disable();
        await controller.stop(10_000);
        await database.close().catch(() => undefined);
        kc.destroy();
        send({ type: 'stopped' });
        process.disconnect?.();
        setTimeout(() => process.exit(0), 200).unref();
      })();
    }
  });
}

main().catch((e: unknown) => {
  const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
  if (process.send) send({ type: 'error', message });
  else process.stderr.write(`${message}\n`);
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 200).unref();
});
