// Hearth's KubeConfig reuses TLS connections to the API server (client-node alone opens a new
// connection for every request).
import type { Agent } from 'node:https';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/kube/config.js';
import { kubeconfigPath } from '../support/env.js';

const kc = loadKubeConfig(kubeconfigPath());
afterAll(() => kc.destroy());

function countConnections(agent: Agent): () => number {
  let n = 0;
  const original = agent.createConnection.bind(agent);
  agent.createConnection = ((...args: Parameters<Agent['createConnection']>) => {
    n++;
    return original(...args);
  }) as Agent['createConnection'];
  return () => n;
}

describe('PooledKubeConfig', () => {
  it('serves 50 sequential API calls over one connection', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await core.listNamespace();
    const agent = [...(kc as unknown as { agents: Map<string, Agent> }).agents.values()];
    expect(agent).toHaveLength(1);
    const connections = countConnections(agent[0]!);
    for (let i = 0; i < 50; i++) await core.readNamespace({ name: 'default' });
    expect(connections()).toBe(0);
  });

  it('works as a drop-in KubeConfig for concurrent calls', async () => {
    expect(kc).toBeInstanceOf(KubeConfig);
    const core = kc.makeApiClient(CoreV1Api);
    const results = await Promise.all(Array.from({ length: 40 }, () => core.readNamespace({ name: 'kube-system' })));
    expect(results.every((r) => r.metadata?.name === 'kube-system')).toBe(true);
  });
});
