// npm run cluster:up [-- --no-nodes] [--no-real-node|--real-node] | npm run cluster:down [-- --nodes]
// Starts or stops the simulated GPU fleet (or, with KUBECONFIG set, works on that cluster), and the
// real node beside it (hack/lib/real-node.ts; off with --no-real-node or HEARTH_REAL_NODE=0).
import { ClusterError, clusterDown, clusterUp } from './lib/cluster.js';

const [cmd, ...flags] = process.argv.slice(2);
try {
  if (cmd === 'up') {
    const nodes = flags.includes('--no-nodes') ? false : flags.includes('--nodes') ? true : undefined;
    const realNode = flags.includes('--no-real-node') ? false : flags.includes('--real-node') ? true : undefined;
    const h = await clusterUp({ nodes, realNode });
    console.log(`\nexport KUBECONFIG=${h.kubeconfig}`);
  } else if (cmd === 'down') {
    await clusterDown({ nodes: flags.includes('--nodes') });
  } else {
    console.error('usage: tsx hack/cluster.ts up [--nodes|--no-nodes] [--real-node|--no-real-node] | down [--nodes]');
    process.exitCode = 2;
  }
} catch (e) {
  console.error(`\ncluster ${cmd ?? ''}: ${e instanceof ClusterError ? e.message : (e as Error).stack}`);
  process.exitCode = 1;
}
