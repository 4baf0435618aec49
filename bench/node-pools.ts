// Node pool scale-up time (issue 13, bench/jobs): from an unschedulable pod to a Ready node of the
// pool, on the simulated cluster (KUBECONFIG; this script never starts or stops a cluster). The
// measurement is bench/node-pool-scale-up.ts (`bench:jobs` prints it too); this runs it alone.
//
//   KUBECONFIG=/work/main/.hearth/kubeconfig npm run bench:node-pools [-- --runs 5]
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadKubeConfig } from '../src/kube/config.js';
import { fmt, percentile } from './lib.js';
import { measureNodePoolScaleUp } from './node-pool-scale-up.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Math.max(1, Math.min(20, Number(values.runs) || 5));
const kubeconfig = process.env.KUBECONFIG;
if (!kubeconfig) throw new Error('set KUBECONFIG to the simulated cluster (this benchmark does not start one)');

async function main(): Promise<void> {
  const log = pino({ level: process.env.HEARTH_BENCH_LOG ?? 'warn' });
  const { toNode, toRunning } = await measureNodePoolScaleUp(loadKubeConfig(kubeconfig!), { runs, log, progress: (l) => process.stderr.write(`${l}\n`) });
  const s = (a: number[]) => [...a].sort((x, y) => x - y);
  console.log(`node pool scale-up, ${runs} runs (unschedulable 8-GPU pod created → …)`);
  console.log(`  → pool node Ready:  p50 ${fmt(percentile(s(toNode), 50), 0)} ms  max ${fmt(Math.max(...toNode), 0)} ms`);
  console.log(`  → pod Running:      p50 ${fmt(percentile(s(toRunning), 50), 0)} ms  max ${fmt(Math.max(...toRunning), 0)} ms`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
