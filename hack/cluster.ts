// npm run cluster:up [-- --no-nodes] | npm run cluster:down [-- --nodes]
// Starts or stops the simulated GPU fleet (or, with KUBECONFIG set, works on that cluster).
import { ClusterError, clusterDown, clusterUp } from './lib/cluster.js';

const [cmd, ...flags] = process.argv.slice(2);
try {
  if (cmd === 'up') {
    const nodes = flags.includes('--no-nodes') ? false : flags.includes('--nodes') ? true : undefined;
    const h = await clusterUp({ nodes });
    console.log(`\nexport KUBECONFIG=${h.kubeconfig}`);
  } else if (cmd === 'down') {
    await clusterDown({ nodes: flags.includes('--nodes') });
  } else {
    console.error('usage: tsx hack/cluster.ts up [--nodes|--no-nodes] | down [--nodes]');
    process.exitCode = 2;
  }
} catch (e) {
  console.error(`\ncluster ${cmd ?? ''}: ${e instanceof ClusterError ? e.message : (e as Error).stack}`);
  process.exitCode = 1;
}
