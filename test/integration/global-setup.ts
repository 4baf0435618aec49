// Vitest global setup for the integration project: PostgreSQL (DATABASE_URL or the local server,
// started if stopped) and a Kubernetes cluster (KUBECONFIG, or the simulated one, brought up here
// and stopped again afterwards if this run started it; HEARTH_KEEP_CLUSTER=1 keeps it running),
// with Hearth's CRDs installed.
import type { TestProject } from 'vitest/node';
import { clusterDown, clusterUp, kubeConfigFrom } from '../../hack/lib/cluster.js';
import { installCrds } from '../../hack/lib/crds.js';
import { ensurePostgres } from '../../hack/lib/postgres.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (m: string) => process.stderr.write(`[integration] ${m}\n`);
  const databaseUrl = await ensurePostgres(undefined, log);
  project.provide('databaseUrl', databaseUrl);

  if (process.env.HEARTH_TEST_SKIP_CLUSTER === '1') {
    log('HEARTH_TEST_SKIP_CLUSTER=1: no cluster for this run');
    project.provide('kubeconfig', '');
    return async () => {};
  }
  const cluster = await clusterUp({ log, nodes: process.env.KUBECONFIG ? process.env.HEARTH_SIM_NODES === '1' : true });
  project.provide('kubeconfig', cluster.kubeconfig);
  // Hearth's CRDs, once for every suite (each test may re-apply them: server-side apply is idempotent).
  await installCrds(kubeConfigFrom(cluster.kubeconfig), 'hearth-test-setup');
  return async () => {
    if (cluster.started && process.env.HEARTH_KEEP_CLUSTER !== '1') await clusterDown({ log });
  };
}
