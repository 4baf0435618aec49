// SIMULATION: the trainer fixture (or another runner, e.g. the real trainer shim around a TRL
// stand-in: test/e2e/sft-trainer-shim.test.ts) for every KWOK trainer pod. KWOK pods run nothing, so this helper
// does what the kubelet would for the trainer container: it lists the namespace's trainer pods
// (label hearth.dev/sft-job), builds each one's environment from its spec as the kubelet does
// (plain values, `secretKeyRef` read from the Secret, `fieldRef` of the pod's annotations), and runs
// the trainer fixture with it; a pod deleted (cancel, early stop) aborts its run. Hearth's side —
// the Job, the token, the endpoints, the status — is the production path.
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { SFT_LABELS } from '../../src/crds/sft-trainer.js';
import { runTrainerFixture, type TrainerFixtureOptions, type TrainerFixtureResult } from '../fixtures/trainer/index.js';

export interface TrainerRun {
  pod: string;
  job: string;
  env: Record<string, string>;
  abort: AbortController;
  done: Promise<TrainerFixtureResult>;
  result?: TrainerFixtureResult;
}

/** Runs one trainer pod's container (default: the trainer fixture with the pod's env). */
export type TrainerRunner = (o: { env: Record<string, string>; pod: V1Pod; signal: AbortSignal }) => Promise<TrainerFixtureResult>;

export class TrainerFleet {
  /** By pod uid. */
  readonly runs = new Map<string, TrainerRun>();
  readonly #core: CoreV1Api;
  #timer: ReturnType<typeof setInterval> | undefined;
  #syncing: Promise<void> | undefined;

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    /** Fixture options per SFT job (the eval curve, the step time). */
    private readonly opts: (job: string) => Omit<TrainerFixtureOptions, 'env' | 'signal'> = () => ({}),
    private readonly runner?: TrainerRunner,
  ) {
    this.#core = kc.makeApiClient(CoreV1Api);
  }

  start(intervalMs = 100): void {
    this.#timer = setInterval(() => void this.sync(), intervalMs);
  }

  sync(): Promise<void> {
    this.#syncing ??= this.#sync()
      .catch(() => undefined)
      .finally(() => (this.#syncing = undefined));
    return this.#syncing;
  }

  /** The runs of an SFT job, oldest first. */
  of(job: string): TrainerRun[] {
    return [...this.runs.values()].filter((r) => r.job === job);
  }

  async #sync(): Promise<void> {
    const pods = await this.#core.listNamespacedPod({ namespace: this.namespace, labelSelector: SFT_LABELS.job });
    const live = new Set<string>();
    for (const p of pods.items) {
      const uid = p.metadata?.uid ?? '';
      if (!uid || p.metadata?.deletionTimestamp) continue;
      live.add(uid);
      if (this.runs.has(uid)) continue;
      const env = await this.#envOf(p);
      const job = p.metadata?.labels?.[SFT_LABELS.job] ?? '';
      const abort = new AbortController();
      const run: TrainerRun = { pod: p.metadata?.name ?? '', job, env, abort, done: Promise.resolve({ exitCode: 0, message: '', steps: 0, startStep: 0, trainExamples: 0 }) };
      const running = this.runner ? this.runner({ env, pod: p, signal: abort.signal }) : runTrainerFixture({ ...this.opts(job), env, signal: abort.signal });
      run.done = running.then((r) => (run.result = r));
      this.runs.set(uid, run);
    }
    for (const [uid, r] of this.runs) if (!live.has(uid) && !r.result) r.abort.abort();
  }

  /** The container's environment as the kubelet resolves it. */
  async #envOf(p: V1Pod): Promise<Record<string, string>> {
    const env: Record<string, string> = {};
    for (const e of p.spec?.containers[0]?.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      const s = e.valueFrom?.secretKeyRef;
      if (s) {
        const secret = await this.#core.readNamespacedSecret({ namespace: this.namespace, name: s.name! });
        const v = secret.data?.[s.key];
        if (v !== undefined) env[e.name] = Buffer.from(v, 'base64').toString('utf8');
      }
      const f = e.valueFrom?.fieldRef?.fieldPath;
      const ann = f ? /^metadata\.annotations\['(.+)'\]$/.exec(f) : null;
      if (ann) env[e.name] = p.metadata?.annotations?.[ann[1]!] ?? '';
    }
    return env;
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#syncing;
    for (const r of this.runs.values()) r.abort.abort();
    await Promise.all([...this.runs.values()].map((r) => r.done));
  }
}
