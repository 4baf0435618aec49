// SIMULATION: one model-server fixture per KWOK pod. KWOK pods have addresses but no network, so
// for every pod of a deployment this helper starts a fixture on loopback and points the pod's
// `<pod IP>:<port>` at it in a SimulatedDialMap (src/kube/dial.ts) — the map the gateway and the
// DeployedModel controller dial through, exactly as HEARTH_SIMULATED_DIAL_MAP_FILE feeds it in the
// demo. Hearth itself dials the pod IP it read from the EndpointSlice; only the socket's
// destination changes. A pod that goes away takes its fixture with it.
//
// With `modelFiles`, each pod also gets Hearth's REAL model-files sidecar (src/artifacts/
// model-files-server.ts, what mode `model-files` runs in the pod) on loopback over a temp directory,
// mapped at `<pod IP>:MODEL_FILES_PORT`, and that directory is the fixture's /mnt/models: an adapter
// loads only if the sidecar really put its files there, as with vLLM.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { startModelFilesServer, type ModelFilesServer } from '../../src/artifacts/model-files-server.js';
import { MODEL_FILES_MOUNT, MODEL_FILES_PORT } from '../../src/fleet/lora.js';
import { LABELS } from '../../src/crds/group.js';
import { SimulatedDialMap } from '../../src/kube/dial.js';
import { startModelServerFixture, type ModelServerFixture, type ModelServerFixtureOptions } from '../fixtures/model-server/index.js';

export interface FleetReplica {
  pod: string;
  podIp: string;
  fixture: ModelServerFixture;
  /** The pod's model-files sidecar and the directory that is its /mnt/models (with `modelFiles`). */
  sidecar?: ModelFilesServer;
  modelRoot?: string;
}

export interface FleetOptions extends ModelServerFixtureOptions {
  containerPort?: number;
  /** Run each pod's model-files sidecar, fetching from this Hearth API base URL. */
  modelFiles?: { sourceUrl: string };
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
    private readonly opts: FleetOptions = {},
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
      const files = await this.#sidecar(ip);
      const { containerPort: _c, modelFiles: _m, ...fixtureOpts } = this.opts;
      const fixture = await startModelServerFixture({ ...fixtureOpts, port: 0, ...(files ? { modelRoot: files.modelRoot } : {}) });
      this.replicas.set(name, { pod: name, podIp: ip, fixture, ...files });
      this.map.set(`${ip}:${port}`, `127.0.0.1:${fixture.port}`);
    }
    for (const name of [...this.replicas.keys()]) if (!live.has(name)) await this.#drop(name);
  }

  /** The pod's model-files sidecar (Hearth's code) over a fresh directory, dialled at `<pod IP>:MODEL_FILES_PORT`. */
  async #sidecar(ip: string): Promise<{ sidecar: ModelFilesServer; modelRoot: string } | undefined> {
    if (!this.opts.modelFiles) return undefined;
    const modelRoot = await mkdtemp(join(tmpdir(), 'hearth-fleet-models-'));
    const sidecar = await startModelFilesServer({ root: modelRoot, sourceUrl: this.opts.modelFiles.sourceUrl, port: 0, mountPath: MODEL_FILES_MOUNT });
    this.map.set(`${ip}:${MODEL_FILES_PORT}`, `127.0.0.1:${sidecar.port}`);
    return { sidecar, modelRoot };
  }

  async #drop(name: string): Promise<void> {
    const r = this.replicas.get(name);
    if (!r) return;
    this.replicas.delete(name);
    this.map.delete(`${r.podIp}:${this.opts.containerPort ?? 8000}`);
    await r.fixture.close();
    if (r.sidecar) {
      this.map.delete(`${r.podIp}:${MODEL_FILES_PORT}`);
      await r.sidecar.close();
    }
    if (r.modelRoot) await rm(r.modelRoot, { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#syncing;
    for (const name of [...this.replicas.keys()]) await this.#drop(name);
  }
}
