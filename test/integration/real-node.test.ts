// The real node (issue 18 item 1): a kubelet, containerd and runc beside the KWOK fleet. Its pods
// run for real: `echo hello` prints through the kubelet's log endpoint, a server in a pod answers
// at its pod IP from the host, and a pod that does not tolerate the node's taint never lands there.
// Skips loudly (never passes) when the cluster has no Ready real node: `npm run cluster:up` starts
// one where the machine can host it (root, namespaces), or `tsx hack/real-node.ts up` beside a
// running cluster.
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { CoreV1Api, Exec, type V1Container, type V1PodSpec, type V1Status } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_KIND_LABEL, REAL_NODE_LABEL, REAL_NODE_NAME } from '../../hack/lib/real-node.js';
import { testKubeConfig } from '../support/env.js';
import { createTestNamespace } from '../support/namespace.js';
import { readyPodIp, REAL_NODE_POD_IP, realNodePod as podOnRealNode, realNodeReady } from '../support/real-node.js';
import { dumpNamespace, waitFor } from '../support/wait.js';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const NS = `real-node-${randomBytes(3).toString('hex')}`;

const ready = await realNodeReady(core, 'the real node tests', 'test/integration/real-node.test.ts');
const realNodePod = (name: string, container: Partial<V1Container>, extra: Partial<V1PodSpec> = {}) => podOnRealNode(NS, name, container, extra);

const podState = async (name: string) => {
  const p = await core.readNamespacedPod({ name, namespace: NS });
  return { phase: p.status?.phase, podIP: p.status?.podIP, node: p.spec?.nodeName, statuses: p.status?.containerStatuses };
};

describe.runIf(ready)('the real node', () => {
  beforeAll(async () => {
    await createTestNamespace(kc, NS);
  });
  afterAll(async () => {
    await core.deleteNamespace({ name: NS }).catch(() => undefined);
  });

  it('is Ready, runs kubelet and containerd of the pinned versions, is labelled a CPU node and tainted NoSchedule', { timeout: 60_000 }, async () => {
    // The kubelet's own report (a cluster started before kwok's stages left the real node alone
    // shows kwok's node info until the kubelet's next status update).
    const n = await waitFor('the kubelet to report its versions', async () => {
      const cur = await core.readNode({ name: REAL_NODE_NAME });
      return /^v1\.\d+\.\d+$/.test(cur.status?.nodeInfo?.kubeletVersion ?? '') ? cur : undefined;
    });
    expect(n.metadata?.labels?.[NODE_KIND_LABEL]).toBe('cpu');
    expect(n.metadata?.labels?.[REAL_NODE_LABEL]).toBe('true');
    expect(n.spec?.taints).toContainEqual(expect.objectContaining({ key: REAL_NODE_LABEL, value: 'true', effect: 'NoSchedule' }));
    expect(n.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\/2\./);
    expect(n.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady' });
    expect(n.status?.addresses).toContainEqual({ type: 'InternalIP', address: '10.244.0.1' });
    // No GPU capacity: GPU workloads (which ask for nvidia.com/gpu or amd.com/gpu) cannot fit.
    expect(Object.keys(n.status?.allocatable ?? {}).filter((k) => k.endsWith('/gpu'))).toEqual([]);
  });

  it('runs `echo hello` in a container; its log is read through the kubelet', { timeout: 120_000 }, async () => {
    await core.createNamespacedPod({ namespace: NS, body: realNodePod('hello', { command: ['echo', 'hello'] }, { restartPolicy: 'Never' }) });
    const done = await waitFor(
      'the hello pod to succeed on the real node',
      async () => {
        const s = await podState('hello');
        return s.phase === 'Succeeded' || s.phase === 'Failed' ? s : undefined;
      },
      { timeoutMs: 90_000, dump: () => dumpNamespace(kc, NS) },
    );
    expect(done.phase).toBe('Succeeded');
    expect(done.node).toBe(REAL_NODE_NAME);
    expect(done.statuses?.[0]?.state?.terminated?.exitCode).toBe(0);
    // The API server's pod log endpoint (what `kubectl logs` calls) is served by the kubelet.
    expect(await core.readNamespacedPodLog({ name: 'hello', namespace: NS })).toBe('hello\n');
  });

  it('serves from a pod at its pod IP, reachable from the host', { timeout: 120_000 }, async () => {
    const script = 'mkdir -p /www && echo real-node-ok > /www/index.html && exec httpd -f -p 8080 -h /www';
    await core.createNamespacedPod({
      namespace: NS,
      body: realNodePod('web', {
        command: ['sh', '-c', script],
        ports: [{ containerPort: 8080 }],
        // The kubelet probes the pod over the pod network too.
        readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
      }),
    });
    const ip = await readyPodIp(core, kc, NS, 'web');
    const res = await fetch(`http://${ip}:8080/`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('real-node-ok\n');
  });

  it('execs a command in a running container through the kubelet (kubectl exec)', { timeout: 120_000 }, async () => {
    await core.createNamespacedPod({ namespace: NS, body: realNodePod('shell', { command: ['sleep', '3600'] }) });
    await waitFor(
      'the shell pod to run on the real node',
      async () => {
        const p = await core.readNamespacedPod({ name: 'shell', namespace: NS });
        return p.status?.containerStatuses?.[0]?.state?.running && REAL_NODE_POD_IP.test(p.status.podIP ?? '') ? true : undefined;
      },
      { timeoutMs: 90_000, dump: () => dumpNamespace(kc, NS) },
    );
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    const status = await new Promise<V1Status>((resolve, reject) => {
      new Exec(kc)
        .exec(NS, 'shell', 'main', ['sh', '-c', 'echo exec-ok $(hostname)'], stdout, null, null, false, (s) => resolve(s))
        .catch(reject);
    });
    expect(status.status).toBe('Success');
    expect(out).toBe('exec-ok shell\n');
  });

  it('never takes a pod that does not tolerate its taint', { timeout: 60_000 }, async () => {
    const pod = realNodePod('untolerated', { command: ['echo', 'never'] }, { restartPolicy: 'Never', tolerations: [] });
    await core.createNamespacedPod({ namespace: NS, body: pod });
    const reason = await waitFor('the scheduler to refuse the untolerating pod', async () => {
      const p = await core.readNamespacedPod({ name: 'untolerated', namespace: NS });
      const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled');
      return c?.status === 'False' ? `${c.reason}: ${c.message}` : undefined;
    });
    expect(reason).toMatch(/Unschedulable.*untolerated taint/);
    expect((await podState('untolerated')).node).toBeUndefined();
  });
});
