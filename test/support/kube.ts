// A process's Kubernetes access as main.ts builds it for every mode: one rate-limited client and
// one informer layer on it. Tests that stand in for a process (an API replica, a gateway) make one
// each; two made from the same kubeconfig are two processes, with their own watches and caches.
import type { KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import type { KubeAccess } from '../../src/api/kube/kind-client.js';
import { KubeClients, type ClientSettings } from '../../src/kube/client.js';
import { InformerFactory } from '../../src/kube/informer-factory.js';
import { realClock } from '../../src/util/clock.js';
import { TEST_SEAL } from './tenancy.js';

/** main.ts's defaults (HEARTH_CONTROLLER_QPS / HEARTH_CONTROLLER_BURST). */
const PROCESS_CLIENT: ClientSettings = { qps: 100, burst: 200 };

export function kubeAccess(kc: KubeConfig, opts: { log?: Logger; client?: ClientSettings } = {}): KubeAccess {
  const clients = new KubeClients(kc, opts.client ?? PROCESS_CLIENT, realClock);
  const informers = new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log: opts.log ?? pino({ level: 'warn' }) });
  return { clients, informers };
}
