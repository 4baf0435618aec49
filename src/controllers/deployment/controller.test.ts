import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../util/fake-clock.js';
import { KubeClients } from '../../kube/client.js';
import { InformerFactory } from '../../kube/informer-factory.js';
import { deploymentController, podOwnerKey, type AutoscalerHook } from './controller.js';
import { MemoryQuotaLedger } from './fake-cluster.js';
import { TEST_SEAL } from '../../../test/support/tenancy.js';

describe('podOwnerKey', () => {
  it.each([
    ['a model-server pod', { 'app.kubernetes.io/managed-by': 'hearth', 'hearth.dev/deployment': 'chat' }, ['acct-acme/chat']],
    ['a pod someone else manages', { 'hearth.dev/deployment': 'chat' }, []],
    ['an unlabelled pod', undefined, []],
  ])('%s', (_name, labels, keys) => {
    expect(podOwnerKey({ metadata: { namespace: 'acct-acme', name: 'p', labels } })).toEqual(keys);
  });
});

describe('deploymentController: the autoscaler hook', () => {
  it('attaches the autoscaler to the new controller: its enqueue adds to the work queue; every key exists until the cache syncs', () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const clock = new FakeClock(0);
    const attached: Array<{ enqueue: (k: string) => void; exists: (k: string) => boolean }> = [];
    const hook: AutoscalerHook = { desiredReplicas: () => 0, attach: (enqueue, exists) => attached.push({ enqueue, exists }) };
    const clients = new KubeClients(kc, {}, clock);
    const informers = new InformerFactory(clients, { clock, tenancy: TEST_SEAL, log: pino({ level: 'silent' }) });
    const c = deploymentController({ clients, informers, quotas: new MemoryQuotaLedger(), clock, log: pino({ level: 'silent' }), autoscaler: hook });
    expect(attached).toHaveLength(1);
    attached[0]!.enqueue('acct-acme/chat');
    expect(c.queue.len()).toBe(1);
    expect(attached[0]!.exists('acct-acme/other')).toBe(true);
  });
});
