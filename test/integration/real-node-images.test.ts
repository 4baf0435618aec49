// Images built without a registry, running on the real node (issue 18 item 2): Hearth's image
// (Node 24 from the npm registry's package, the compiled app, user 65532) and the model-server
// fixture's image are assembled as OCI layouts (hack/lib/hearth-images.ts), imported into the
// node's containerd, and run as pods; the fixture answers the OpenAI API at its pod IP.
// Skips loudly (never passes) without a Ready real node on this machine.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type V1Container, type V1Pod, type V1PodSpec } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAndImportAppImages, HEARTH_IMAGE, MODEL_SERVER_IMAGE } from '../../hack/lib/hearth-images.js';
import { testKubeConfig } from '../support/env.js';
import { createTestNamespace } from '../support/namespace.js';
import { readyPodIp, realNodePod, realNodeReady } from '../support/real-node.js';
import { dumpNamespace, waitFor } from '../support/wait.js';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const NS = `real-images-${randomBytes(3).toString('hex')}`;

const ready = await realNodeReady(core, 'the image tests on the real node', 'test/integration/real-node-images.test.ts', { onThisMachine: true });

// The kubelet refuses to start a container whose image user is root under runAsNonRoot.
const pod = (name: string, container: Partial<V1Container>, extra: Partial<V1PodSpec> = {}) => realNodePod(NS, name, container, { securityContext: { runAsNonRoot: true }, ...extra });

async function finished(name: string): Promise<V1Pod> {
  return waitFor(
    `pod ${name} to finish`,
    async () => {
      const p = await core.readNamespacedPod({ name, namespace: NS });
      const t = p.status?.containerStatuses?.[0]?.state?.terminated;
      return t && (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') ? p : undefined;
    },
    { timeoutMs: 90_000, dump: () => dumpNamespace(kc, NS) },
  );
}

describe.runIf(ready)('images built here, on the real node', () => {
  beforeAll(async () => {
    const t0 = Date.now();
    await buildAndImportAppImages();
    console.error(`[real-node-images] images built and imported in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    await createTestNamespace(kc, NS);
  }, 600_000);
  afterAll(async () => {
    await core.deleteNamespace({ name: NS }).catch(() => undefined);
  });

  it("Hearth's image runs its entry point (node dist/main.js) as user 65532", { timeout: 120_000 }, async () => {
    // An unknown mode: main.ts loads every mode's modules, then refuses with exit code 2.
    await core.createNamespacedPod({ namespace: NS, body: pod('hearth-mode', { image: HEARTH_IMAGE, args: ['no-such-mode'] }, { restartPolicy: 'Never' }) });
    await core.createNamespacedPod({
      namespace: NS,
      body: pod('hearth-user', { image: HEARTH_IMAGE, command: ['/nodejs/bin/node', '-e', 'console.log(`${process.getuid()}:${process.getgid()} ${process.version} ${process.cwd()}`)'] }, { restartPolicy: 'Never' }),
    });
    const mode = await finished('hearth-mode');
    expect(mode.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(2);
    expect(await core.readNamespacedPodLog({ name: 'hearth-mode', namespace: NS })).toMatch(/unknown mode "no-such-mode" \(modes: api, /);
    const user = await finished('hearth-user');
    expect(user.status?.phase).toBe('Succeeded');
    expect(await core.readNamespacedPodLog({ name: 'hearth-user', namespace: NS })).toMatch(/^65532:65532 v24\.\d+\.\d+ \/app\n$/);
  });

  it('the model-server fixture image serves the OpenAI API at its pod IP', { timeout: 120_000 }, async () => {
    await core.createNamespacedPod({
      namespace: NS,
      body: pod('model-server', {
        image: MODEL_SERVER_IMAGE,
        ports: [{ containerPort: 8000 }],
        readinessProbe: { httpGet: { path: '/health', port: 8000 }, periodSeconds: 1 },
      }),
    });
    const ip = await readyPodIp(core, kc, NS, 'model-server');
    const models = (await (await fetch(`http://${ip}:8000/v1/models`, { signal: AbortSignal.timeout(5000) })).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toContain('fixture-model');
    const res = await fetch(`http://${ip}:8000/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fixture-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content.length).toBeGreaterThan(0);
  });
});
