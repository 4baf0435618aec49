// cluster:up is idempotent and cluster:down leaves no process behind. Runs a second, private
// simulated cluster in its own state directory so the suite's shared cluster is not disturbed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterDown, clusterProcesses, clusterUp, kubeConfigFrom } from '../../hack/lib/cluster.js';

const haveGo = spawnSync('go', ['version']).status === 0;
const state = mkdtempSync(join(tmpdir(), 'hearth-lifecycle-'));
const log = () => {};

describe('cluster lifecycle', () => {
  afterAll(async () => {
    process.env.HEARTH_STATE_DIR = state;
    await clusterDown({ log }).catch(() => undefined);
    rmSync(state, { recursive: true, force: true });
  });

  it.runIf(haveGo && !process.env.KUBECONFIG)('up twice starts once; down stops every process', { timeout: 300_000 }, async () => {
    process.env.HEARTH_STATE_DIR = state;
    const first = await clusterUp({ log, realNode: false });
    expect(first.started).toBe(true);
    const core = kubeConfigFrom(first.kubeconfig).makeApiClient(CoreV1Api);
    const nodes = await core.listNode({ labelSelector: 'hearth.dev/simulated=true' });
    expect(nodes.items.length).toBeGreaterThanOrEqual(10);

    const second = await clusterUp({ log, realNode: false });
    expect(second.started).toBe(false);
    expect(second.kubeconfig).toBe(first.kubeconfig);
    expect((await core.listNode({ labelSelector: 'hearth.dev/simulated=true' })).items).toHaveLength(nodes.items.length);
    expect(clusterProcesses().length).toBeGreaterThanOrEqual(5); // etcd, apiserver, kcm, scheduler, kwok

    await clusterDown({ log });
    expect(clusterProcesses()).toEqual([]);
  });
});
