// What the real node's tests share (issue 18): the loud skip when there is no Ready real node,
// a bare pod placed on it, the adoption of the real node into a node pool (the pool's labels and
// taint instead of its own), and the kubectl the cluster was built with.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PatchStrategy, setHeaderOptions, type CoreV1Api, type KubeConfig, type V1Container, type V1Pod, type V1PodSpec } from '@kubernetes/client-node';
import { ROOT } from '../../hack/lib/cluster.js';
import { BUSYBOX_IMAGE } from '../../hack/lib/node-images.js';
import { REAL_NODE_LABEL, REAL_NODE_NAME, REAL_NODE_TOLERATION, runningRealNodeOwner } from '../../hack/lib/real-node.js';
import { nodePoolNodeLabels, nodePoolTaint } from '../../src/fleet/node-pools.js';
import { dumpNamespace, waitFor } from './wait.js';

/**
 * True when the cluster has a Ready real node (and, with `onThisMachine`, it runs here: tests that
 * import images into its containerd). Otherwise prints a banner naming the test and how to start
 * one, so the skip is never mistaken for a pass.
 */
export async function realNodeReady(core: CoreV1Api, what: string, file: string, opts: { onThisMachine?: boolean } = {}): Promise<boolean> {
  const node = await core.readNode({ name: REAL_NODE_NAME }).catch(() => undefined);
  const isReady = node?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const here = !opts.onThisMachine || runningRealNodeOwner() !== undefined;
  if (isReady && here) return true;
  const why = !node
    ? `the cluster has no node ${REAL_NODE_NAME}`
    : !isReady
      ? `node ${REAL_NODE_NAME} is not Ready`
      : `node ${REAL_NODE_NAME} does not run on this machine`;
  const line = '!'.repeat(100);
  console.error(
    `\n${line}\n!! SKIPPED: ${what} (${file})\n` +
      `!! ${why}: start it with \`npm run cluster:up\` (HEARTH_REAL_NODE unset, as root) or \`tsx hack/real-node.ts up\`\n${line}\n`,
  );
  return false;
}

/** A bare pod on the real node (its label and taint), busybox unless the container names an image. */
export function realNodePod(namespace: string, name: string, container: Partial<V1Container>, extra: Partial<V1PodSpec> = {}): V1Pod {
  return {
    metadata: { name, namespace },
    spec: {
      nodeSelector: { [REAL_NODE_LABEL]: 'true' },
      tolerations: [{ ...REAL_NODE_TOLERATION }],
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image: BUSYBOX_IMAGE, imagePullPolicy: 'Never', ...container }],
      ...extra,
    },
  };
}

/**
 * Makes the real node the one node of `account`'s node pool `pool`, the way an existing node is
 * adopted into a pool: the pool's labels, and the pool's taint in place of the real node's own, so
 * only the pool's pods land there. Returns the undo (labels removed, the node's taints put back).
 */
export async function adoptRealNodeIntoPool(core: CoreV1Api, account: string, pool: string): Promise<() => Promise<void>> {
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const original = (await core.readNode({ name: REAL_NODE_NAME })).spec?.taints ?? [];
  const poolLabels = nodePoolNodeLabels(account, pool);
  const patch = (labels: Record<string, string | null>, taints: typeof original) => core.patchNode({ name: REAL_NODE_NAME, body: { metadata: { labels }, spec: { taints } } }, merge);
  await patch(poolLabels, [...original.filter((t) => t.key !== REAL_NODE_LABEL), nodePoolTaint(pool)]);
  return async () => {
    await patch(Object.fromEntries(Object.keys(poolLabels).map((k) => [k, null])), original);
  };
}

/**
 * The kubectl built with the cluster (hack/build-bins.sh caches it under
 * $HEARTH_CACHE/bin/<KUBE_VERSION>-…/), without running the build script; the newest if several.
 */
export function cachedKubectl(): string {
  const kube = /^KUBE_VERSION=(\S+)$/m.exec(readFileSync(join(ROOT, 'hack/versions.env'), 'utf8'))?.[1];
  const bins = join(process.env.HEARTH_CACHE ?? join(process.env.HOME ?? '/root', '.cache/hearth'), 'bin');
  const found = (existsSync(bins) ? readdirSync(bins) : [])
    .filter((d) => d.startsWith(`${kube}-`) && existsSync(join(bins, d, 'kubectl')))
    .map((d) => join(bins, d, 'kubectl'))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!found[0]) throw new Error(`no kubectl ${kube} under ${bins}: start the cluster once (npm run cluster:up builds it)`);
  return found[0];
}

/** An address of the real node's pod network (hack/lib/real-node.ts: 10.244.0.0/24 by default). */
export const REAL_NODE_POD_IP = /^10\.244\.0\.\d+$/;

/**
 * Waits for pod `name` to be Ready with an address of the real node's pod network (a cluster
 * started before kwok's stages left the real node alone shows kwok's simulated status first, until
 * the kubelet's replaces it); its pod IP.
 */
export function readyPodIp(core: CoreV1Api, kc: KubeConfig, namespace: string, name: string): Promise<string> {
  return waitFor(
    `pod ${name} to be Ready with an IP of the real node's pod network`,
    async () => {
      const p = await core.readNamespacedPod({ name, namespace });
      const isReady = p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      return isReady && REAL_NODE_POD_IP.test(p.status?.podIP ?? '') ? p.status!.podIP! : undefined;
    },
    { timeoutMs: 90_000, dump: () => dumpNamespace(kc, namespace) },
  );
}
