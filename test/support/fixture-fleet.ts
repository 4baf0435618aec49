// SIMULATION: one model-server fixture per KWOK pod. KWOK pods have addresses but no network, so
// for every pod of a deployment this helper starts a fixture on loopback and points the pod's
// `<pod IP>:<port>` at it in a SimulatedDialMap (src/kube/dial.ts) — the map the gateway and the
// DeployedModel controller dial through, exactly as HEARTH_SIMULATED_DIAL_MAP_FILE feeds it in the
// demo. Hearth itself dials the pod IP it read from the EndpointSlice; only the socket's
// destination changes. A pod that goes away takes its fixture with it.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { LABELS } from '../../src/crds/group.js';
import { SimulatedDialMap } from '../../src/kube/dial.js';
import { startModelServerFixture, type ModelServerFixture, type ModelServerFixtureOptions } from '../fixtures/model-server/index.js';

export interface FleetReplica {
  pod: string;
  podIp: string;
  fixture: ModelServerFixture;
}

export class FixtureFleet {
  readonly map = new SimulatedDialMap();
  /** By pod name. */
  readonly replicas = new Map<string, FleetReplica>();
  readonly #core: CoreV1Api;
  #timer: ReturnType<typeof setInterval> | undefined;
  #syncing: Promise<void> | undefined;

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly deployment: string,
    private readonly opts: ModelServerFixtureOptions & { containerPort?: number } = {},
  ) {
    this.#core = kc.makeApiClient(CoreV1Api);
  }

  /** The Dialer to give Hearth's gateway and controller (counts the gateway's dials when asked to). */
  readonly dial = (address: string, port: number) => this.map.dial(address, port);

  start(intervalMs = 200): void {
    this.#timer = setInterval(() => void this.sync(), intervalMs);
  }

  /** Reconciles fixtures with the deployment's pods once (also called by the timer). */
  sync(): Promise<void> {
    this.#syncing ??= this.#sync().finally(() => (this.#syncing = undefined));
    return this.#syncing;
  }

  async #sync(): Promise<void> {
    const pods = await this.#core.listNamespacedPod({ namespace: this.namespace, labelSelector: `${LABELS.deployment}=${this.deployment}` });
    const live = new Set<string>();
    const port = this.opts.containerPort ?? 8000;
    for (const p of pods.items) {
      const name = p.metadata?.name;
      const ip = p.status?.podIP;
      if (!name || !ip || p.metadata?.deletionTimestamp) continue;
      live.add(name);
      const have = this.replicas.get(name);
      if (have && have.podIp === ip) continue;
      if (have) await this.#drop(name);
      const fixture = await startModelServerFixture({ ...this.opts, port: 0 });
      this.replicas.set(name, { pod: name, podIp: ip, fixture });
      this.map.set(`${ip}:${port}`, `127.0.0.1:${fixture.port}`);
    }
    for (const name of [...this.replicas.keys()]) if (!live.has(name)) await this.#drop(name);
  }

  async #drop(name: string): Promise<void> {
    const r = this.replicas.get(name);
    if (!r) return;
    this.replicas.delete(name);
    this.map.delete(`${r.podIp}:${this.opts.containerPort ?? 8000}`);
    await r.fixture.close();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#syncing;
    for (const name of [...this.replicas.keys()]) await this.#drop(name);
  }
}
