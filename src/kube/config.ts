// A KubeConfig whose API clients reuse TLS connections.
//
// @kubernetes/client-node 1.x builds a fresh https.Agent for every request
// (KubeConfig.applySecurityAuthentication → createAgent), so every call pays a TCP and TLS
// handshake and no connection is ever reused. Hearth's controllers make many small calls; this
// subclass keeps one keep-alive agent per distinct set of TLS options instead. Headers (tokens,
// exec-plugin credentials) are still applied per request by the base class.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

type SecurityContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];

export interface PoolOptions {
  /** Upper bound on concurrent connections per API server (default 32). */
  maxSockets?: number;
}

export class PooledKubeConfig extends KubeConfig {
  private readonly agents = new Map<string, HttpsAgent>();

  constructor(private readonly pool: PoolOptions = {}) {
    super();
  }

  override async applySecurityAuthentication(context: SecurityContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getAgent();
    // Proxies and plain-http clusters keep the agent the library chose.
    if (!(fresh instanceof HttpsAgent) || fresh.constructor !== HttpsAgent) return;
    const o = (fresh as HttpsAgent & { options: AgentOptions }).options;
    const key = createHash('sha256')
      .update(JSON.stringify([String(o.ca ?? ''), String(o.cert ?? ''), String(o.key ?? ''), o.servername ?? '', o.rejectUnauthorized ?? null]))
      .digest('hex');
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new HttpsAgent({ ...o, keepAlive: true, maxSockets: this.pool.maxSockets ?? 32, scheduling: 'lifo' });
      this.agents.set(key, agent);
    }
    context.setAgent(agent as HttpAgent);
  }

  /** Closes pooled connections (for shutdown and tests). */
  destroy(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

export class KubeConfigError extends Error {}

export interface LoadOptions {
  /** Use the pod's service account when there is no kubeconfig (main.ts: KUBERNETES_SERVICE_HOST is set). */
  inCluster?: boolean;
  pool?: PoolOptions;
}

/**
 * Loads a kubeconfig: the given path (one file; main.ts passes KUBECONFIG), else ~/.kube/config,
 * else the in-cluster service account when `inCluster`. Throws a KubeConfigError saying what to do
 * when there is none (client-node would otherwise fall back to http://localhost:8080 and fail on
 * every request). Reads no environment variable itself.
 */
export function loadKubeConfig(path?: string, opts: LoadOptions = {}): PooledKubeConfig {
  const kc = new PooledKubeConfig(opts.pool);
  const home = join(homedir(), '.kube', 'config');
  if (path) {
    if (!existsSync(path)) throw new KubeConfigError(`KUBECONFIG=${path}: no such file`);
    kc.loadFromFile(path);
  } else if (existsSync(home)) {
    kc.loadFromFile(home);
  } else if (opts.inCluster) {
    kc.loadFromCluster();
  } else {
    throw new KubeConfigError(
      'no Kubernetes configuration: set KUBECONFIG (npm run cluster:up writes .hearth/kubeconfig), provide ~/.kube/config, or run in a cluster',
    );
  }
  return kc;
}
