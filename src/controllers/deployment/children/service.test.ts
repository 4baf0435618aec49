import { describe, expect, it } from 'vitest';
import { hearthDeployment } from '../testing.js';
import { selectorString } from './labels.js';
import { makeService } from './service.js';
import { makeWorkload } from './workload.js';
import { buildModelServer } from '../model-server.js';
import { DEFAULT_MODEL_SERVER_CONFIG as CONFIG } from '../model-server-config.js';

describe('makeService', () => {
  const dep = hearthDeployment();

  it('is a ClusterIP Service, port 80 to the pods’ http port, owned by the hearth.dev Deployment', () => {
    expect(makeService(dep)).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'chat-server',
        namespace: 'acct-acme',
        labels: {
          'app.kubernetes.io/name': 'model-server',
          'app.kubernetes.io/instance': 'chat',
          'app.kubernetes.io/component': 'inference',
          'app.kubernetes.io/part-of': 'hearth',
          'app.kubernetes.io/managed-by': 'hearth',
          'hearth.dev/deployment': 'chat',
        },
        ownerReferences: [
          {
            apiVersion: 'hearth.dev/v1alpha1',
            kind: 'Deployment',
            name: 'chat',
            uid: '0b5c6a1e-0000-4000-8000-000000000001',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        type: 'ClusterIP',
        selector: { 'app.kubernetes.io/managed-by': 'hearth', 'hearth.dev/deployment': 'chat' },
        ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' }],
      },
    });
  });

  it('selects exactly the workload’s pods, whose http port is 8000', () => {
    const s = CONFIG.servers.nvidia;
    const server = buildModelServer(dep.spec, CONFIG);
    if (!server.ok) throw new Error(server.message);
    const w = makeWorkload(dep, server.value, { replicas: 1, region: 'US_ILLINOIS_2', workload: CONFIG.workload });
    expect(w.spec?.template.metadata?.labels).toMatchObject(makeService(dep).spec?.selector ?? { none: 'x' });
    expect(w.spec?.template.spec?.containers[0]?.ports).toEqual([{ name: 'http', containerPort: s.port, protocol: 'TCP' }]);
    expect(s.port).toBe(8000);
  });

  it('differs per owner', () => {
    expect(makeService(hearthDeployment({}, { name: 'other' })).metadata?.name).toBe('other-server');
  });

  it('publishes the selector as a string for status.labelSelector', () => {
    expect(selectorString(dep)).toBe('app.kubernetes.io/managed-by=hearth,hearth.dev/deployment=chat');
  });
});
