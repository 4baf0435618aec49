// tsx hack/real-node.ts up | images | down | status — the real node alone, against KUBECONFIG (or
// the simulated cluster's kubeconfig). `npm run cluster:up/down` start and stop it with the cluster.
// `images` builds Hearth's and the model-server fixture's images and imports them into the node.
import { ClusterError, kubeconfigPath } from './lib/cluster.js';
import { buildAndImportAppImages } from './lib/hearth-images.js';
import { realNodeLeftovers, startNodeRuntime, startRealNode, stopRealNode } from './lib/real-node.js';

const [cmd] = process.argv.slice(2);
const kubeconfig = process.env.KUBECONFIG ?? kubeconfigPath();
try {
  if (cmd === 'up') {
    const n = await startRealNode({ kubeconfig });
    console.log(JSON.stringify(n, null, 2));
  } else if (cmd === 'runtime') {
    // containerd alone (no kubelet), for diagnosis with ctr.
    const r = await startNodeRuntime({});
    console.log(JSON.stringify({ dir: r.dir, socket: r.p.socket, bin: r.bin, snapshotter: r.snapshotter }, null, 2));
  } else if (cmd === 'images') {
    // Hearth's image and the model-server fixture's, assembled here and imported into the node.
    await buildAndImportAppImages();
  } else if (cmd === 'down') {
    await stopRealNode({ kubeconfig });
  } else if (cmd === 'status') {
    console.log(JSON.stringify(realNodeLeftovers(), null, 2));
  } else {
    console.error('usage: tsx hack/real-node.ts up | runtime | images | down | status');
    process.exitCode = 2;
  }
} catch (e) {
  console.error(`\nreal node ${cmd ?? ''}: ${e instanceof ClusterError ? e.message : (e as Error).stack}`);
  process.exitCode = 1;
}
