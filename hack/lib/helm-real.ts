// `helm install` of both charts with Hearth's processes as real pods on the real node (issue 18
// item 3), shared by test/e2e/helm-real.test.ts and `npm run demo -- --helm`.
//
// What the test cluster lacks, and how this bridges it without anything in src/ knowing:
//   - No registry: Hearth's image is assembled here (hack/lib/hearth-images.ts) and imported into
//     the node's containerd under the tag the values name, with imagePullPolicy Never.
//   - No kube-proxy: the `kubernetes` Service's ClusterIP leads nowhere. The API server listens on
//     every address of the host, so pods reach it at the pod network's gateway (the node's address
//     on hearth0); its certificate names kubernetes.default.svc (kwokctl's default SANs) but not
//     that address, so the chart's kubeApiServer values set KUBERNETES_SERVICE_HOST to that name and
//     hostAliases map it to the gateway — the same values a cluster without kube-proxy would use.
//   - PostgreSQL listens on 127.0.0.1 only: a forwarder on the gateway address
//     (hack/lib/host-forward.ts), owned by the calling process, carries the pods' connections to it;
//     the DATABASE_URL Secret names the forwarder.
// Nothing else differs from a production install: restricted Pod Security enforced on the
// namespace, the chart's probes, two controller replicas electing a leader through their Lease.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';
import { ROOT, run, type Log } from './cluster.js';
import { buildHearthImage, buildModelServerImage, HEARTH_IMAGE, MODEL_SERVER_IMAGE, NONROOT } from './hearth-images.js';
import { forwardTcp, type HostForward } from './host-forward.js';
import type { BuiltImage } from './oci-image.js';
import { importIntoRunningNode, REAL_NODE_LABEL, REAL_NODE_NAME, REAL_NODE_TOLERATION, runningRealNodeOwner } from './real-node.js';

export const CHARTS = join(ROOT, 'charts');
/** The name the pods dial the API server by: in kwokctl's certificate, mapped to the node's address by hostAliases. */
export const API_SERVER_NAME = 'kubernetes.default.svc';
export const DB_SECRET = 'hearth-database';
export const RESTRICTED_LABELS = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': 'restricted',
};
/** The chart's default Lease name (controller.leaderElection.leaseName ""). */
export const LEASE_NAME = 'hearth-deployment-controller';
export type Component = 'controller' | 'api' | 'gateway';
/** The chart's container ports (api.port, gateway.port). */
export const PORTS = { api: 8080, gateway: 8081 } as const;

export class RealNodeUnavailable extends Error {}

/**
 * The chart's modelServerConfig for CPU deployments served on the real node: the model-server
 * fixture's image (it takes vLLM's command line), its non-root user, the real node's label and
 * taint. Builds the image and imports it into the node's containerd first.
 */
export async function realNodeCpuRuntime(log: Log = () => undefined): Promise<Record<string, unknown>> {
  const work = mkdtempSync(join(tmpdir(), 'hearth-model-server-image-'));
  try {
    await importIntoRunningNode([await buildModelServerImage(work)], log);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const [uid, gid] = NONROOT.split(':').map(Number) as [number, number];
  return {
    servers: {
      cpu: {
        image: MODEL_SERVER_IMAGE,
        command: ['/nodejs/bin/node', '/app/model-server.mjs'],
        cpu: '100m',
        memory: '256Mi',
        runAsUser: uid,
        runAsGroup: gid,
        fsGroup: gid,
        nodeSelector: { [REAL_NODE_LABEL]: 'true' },
        tolerations: [REAL_NODE_TOLERATION],
      },
    },
    workload: { probePeriodSeconds: 1, terminationGracePeriodSeconds: 5, shmSizeLimit: '64Mi' },
  };
}

/** The real node's address (the pod network's gateway) when it is Ready as its kubelet says; else why not. */
export async function realNodeAddress(kc: KubeConfig): Promise<{ ip: string } | { reason: string }> {
  const node = await kc
    .makeApiClient(CoreV1Api)
    .readNode({ name: REAL_NODE_NAME })
    .catch(() => undefined);
  if (!node) return { reason: `the cluster has no node ${REAL_NODE_NAME}` };
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True' || ready.reason !== 'KubeletReady') return { reason: `node ${REAL_NODE_NAME} is not Ready (${ready?.reason ?? 'no Ready condition'})` };
  const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  if (!ip) return { reason: `node ${REAL_NODE_NAME} reports no InternalIP` };
  // The image is imported into its containerd, and pods are reached at their IPs: it must run here.
  if (!runningRealNodeOwner()) return { reason: `node ${REAL_NODE_NAME} is Ready but does not run on this machine` };
  return { ip };
}

function reachable(host: string, port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: timeoutMs });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('timeout', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(false));
  });
}

export interface HelmRealOptions {
  kc: KubeConfig;
  kubeconfig: string;
  /** The helm binary. */
  helm: string;
  namespace: string;
  release: string;
  crdsRelease: string;
  /** PostgreSQL as this host reaches it (a loopback URL is fine: pods get a forwarder). */
  databaseUrl: string;
  replicas?: Partial<Record<Component, number>>;
  /** controller.leaderElection timings (the chart's defaults otherwise). */
  leaderElection?: { leaseDuration: string; renewDeadline: string; retryPeriod: string };
  /** config.extraEnv. */
  extraEnv?: Record<string, string>;
  /** More chart values, given after the real install's own (a second -f file). */
  extraValues?: Record<string, unknown>;
  timeoutSeconds?: number;
  log?: Log;
}

export interface HelmRealInstall {
  nodeIp: string;
  apiServerPort: number;
  image: BuiltImage;
  databaseForward: HostForward;
  /** Seconds: image build and import, helm install of both charts until every pod is Ready. */
  seconds: { image: number; install: number };
  pods(component: Component): Promise<V1Pod[]>;
  /** http://<pod IP>:<port> of a Ready pod of the API or the gateway (no kube-proxy: pod IPs are reached directly). */
  url(component: 'api' | 'gateway'): Promise<string>;
  helm(...args: string[]): Promise<string>;
  /** helm uninstall of both releases (--wait), the CRDs' ownership marks removed, the forwarder closed. */
  uninstall(): Promise<void>;
}

/** The chart values of a real install (JSON is YAML: passed with -f). */
export function realInstallValues(o: {
  nodeIp: string;
  apiServerPort: number;
  databasePort: number;
  replicas?: Partial<Record<Component, number>>;
  leaderElection?: HelmRealOptions['leaderElection'];
  extraEnv?: Record<string, string>;
}): Record<string, unknown> {
  const [repository, tag] = HEARTH_IMAGE.split(':') as [string, string];
  return {
    mode: 'split',
    // Imported into the node's containerd; no registry is ever asked.
    image: { repository, tag, pullPolicy: 'Never' },
    kubeApiServer: { host: API_SERVER_NAME, port: String(o.apiServerPort) },
    hostAliases: [{ ip: o.nodeIp, hostnames: [API_SERVER_NAME] }],
    nodeSelector: { [REAL_NODE_LABEL]: 'true' },
    tolerations: [REAL_NODE_TOLERATION],
    controller: {
      replicas: o.replicas?.controller ?? 2,
      ...(o.leaderElection ? { leaderElection: o.leaderElection } : {}),
    },
    api: { replicas: o.replicas?.api ?? 1 },
    gateway: { replicas: o.replicas?.gateway ?? 1 },
    // Egress as it would be enforced: the API server's and the forwarder's real ports.
    networkPolicy: { egress: { apiServerPorts: [443, 6443, o.apiServerPort], databasePort: o.databasePort } },
    config: { extraEnv: o.extraEnv ?? {} },
  };
}

export async function helmInstallReal(o: HelmRealOptions): Promise<HelmRealInstall> {
  const log = o.log ?? (() => undefined);
  const core = o.kc.makeApiClient(CoreV1Api);
  const node = await realNodeAddress(o.kc);
  if ('reason' in node) throw new RealNodeUnavailable(node.reason);
  const server = new URL(o.kc.getCurrentCluster()?.server ?? '');
  const apiServerPort = Number(server.port || 443);
  if (!(await reachable(node.ip, apiServerPort))) {
    throw new Error(`the API server (${server.host}) does not answer at ${node.ip}:${apiServerPort}, the address pods reach it at: it must listen on all addresses`);
  }
  const helm = async (...args: string[]) => {
    try {
      return await run(o.helm, args, { env: { ...process.env, KUBECONFIG: o.kubeconfig } });
    } catch (e) {
      throw new Error(`helm ${args.slice(0, 3).join(' ')} failed: ${(e as Error).message}`, { cause: e });
    }
  };

  let t0 = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'hearth-helm-real-'));
  let databaseForward: HostForward | undefined;
  try {
    const image = await buildHearthImage(work);
    await importIntoRunningNode([image], log);
    const imageSeconds = (Date.now() - t0) / 1000;
    log(`image ${image.name} (${image.digest.slice(0, 19)}) built and in the node's containerd in ${imageSeconds.toFixed(1)}s`);

    const db = new URL(o.databaseUrl);
    databaseForward = await forwardTcp(node.ip, { host: db.hostname, port: Number(db.port || 5432) });
    const podDb = new URL(o.databaseUrl);
    podDb.hostname = node.ip;
    podDb.port = String(databaseForward.port);
    log(`PostgreSQL ${db.host} forwarded for the pods at ${node.ip}:${databaseForward.port}`);

    t0 = Date.now();
    await core.createNamespace({ body: { metadata: { name: o.namespace, labels: RESTRICTED_LABELS } } }).catch((e: unknown) => {
      if (!(e instanceof ApiException && e.code === 409)) throw e;
    });
    await core.deleteNamespacedSecret({ namespace: o.namespace, name: DB_SECRET }).catch(() => undefined);
    await core.createNamespacedSecret({ namespace: o.namespace, body: { metadata: { name: DB_SECRET }, stringData: { DATABASE_URL: podDb.toString() } } });

    const valuesFile = join(work, 'values.json');
    const values = realInstallValues({
      nodeIp: node.ip,
      apiServerPort,
      databasePort: databaseForward.port,
      ...(o.replicas ? { replicas: o.replicas } : {}),
      ...(o.leaderElection ? { leaderElection: o.leaderElection } : {}),
      ...(o.extraEnv ? { extraEnv: o.extraEnv } : {}),
    });
    writeFileSync(valuesFile, JSON.stringify(values, null, 2));
    const extraFile = join(work, 'values-extra.json');
    writeFileSync(extraFile, JSON.stringify(o.extraValues ?? {}, null, 2));
    const timeout = `${o.timeoutSeconds ?? 300}s`;
    // The CRDs may exist already (installCrds, other suites): helm takes them over, and keeps them on uninstall.
    await helm('upgrade', '--install', o.crdsRelease, join(CHARTS, 'hearth-crds'), '-n', o.namespace, '--take-ownership', '--wait', '--timeout', timeout);
    await helm('upgrade', '--install', o.release, join(CHARTS, 'hearth'), '-n', o.namespace, '-f', valuesFile, '-f', extraFile, '--wait', '--timeout', timeout);
    const installSeconds = (Date.now() - t0) / 1000;
    log(`helm install of hearth-crds and hearth: every pod Ready on ${REAL_NODE_NAME} in ${installSeconds.toFixed(1)}s`);

    const pods = async (component: Component) =>
      (
        await core.listNamespacedPod({ namespace: o.namespace, labelSelector: `app.kubernetes.io/instance=${o.release},app.kubernetes.io/component=${component}` })
      ).items.filter((p) => !p.metadata?.deletionTimestamp);
    const fwd = databaseForward;
    return {
      nodeIp: node.ip,
      apiServerPort,
      image,
      databaseForward: fwd,
      seconds: { image: imageSeconds, install: installSeconds },
      pods,
      async url(component) {
        const ready = (await pods(component)).find((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && p.status.podIP);
        if (!ready) throw new Error(`no Ready ${component} pod in ${o.namespace}`);
        return `http://${ready.status!.podIP}:${PORTS[component]}`;
      },
      helm,
      async uninstall() {
        try {
          await helm('uninstall', o.release, '-n', o.namespace, '--wait', '--timeout', timeout);
          await helm('uninstall', o.crdsRelease, '-n', o.namespace, '--wait', '--timeout', timeout);
          await releaseCrdOwnership(o.kc, o.crdsRelease);
        } finally {
          await fwd.close();
        }
      },
    };
  } catch (e) {
    await databaseForward?.close();
    throw e;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The CRDs outlive the hearth-crds release (helm.sh/resource-policy: keep); the ownership marks
 * `--take-ownership` put on them are removed again, so the next install (or installCrds) owns them cleanly.
 */
export async function releaseCrdOwnership(kc: KubeConfig, crdsRelease: string): Promise<void> {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  for (const c of (await ext.listCustomResourceDefinition()).items) {
    if (c.metadata?.annotations?.['meta.helm.sh/release-name'] !== crdsRelease) continue;
    await ext.patchCustomResourceDefinition(
      {
        name: c.metadata.name!,
        body: { metadata: { annotations: { 'meta.helm.sh/release-name': null, 'meta.helm.sh/release-namespace': null }, labels: { 'app.kubernetes.io/managed-by': null } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
}
