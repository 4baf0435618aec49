import { describe, expect, it } from 'vitest';
import type { DeploymentObject } from '../mappers/deployment.js';
import { ResourceCache } from './resource-store.js';

const o = (name: string, rv: string, ns = 'acct-a'): DeploymentObject => ({ apiVersion: 'hearth.dev/v1alpha1', kind: 'Deployment', metadata: { name, namespace: ns, resourceVersion: rv }, spec: { baseModel: rv } });

describe('ResourceCache', () => {
  it('never lets an older resourceVersion replace a newer one (a watch event trailing a write)', () => {
    const c = new ResourceCache<DeploymentObject>();
    c.upsert(o('d', '11'));
    c.upsert(o('d', '10'));
    expect(c.get('acct-a', 'd')?.spec.baseModel).toBe('11');
    c.upsert(o('d', '12'));
    expect(c.get('acct-a', 'd')?.spec.baseModel).toBe('12');
  });

  it('does not resurrect a deleted object from a stale event, but takes a re-created one', () => {
    const c = new ResourceCache<DeploymentObject>();
    c.upsert(o('d', '5'));
    c.remove(o('d', '6'));
    c.upsert(o('d', '5'));
    expect(c.get('acct-a', 'd')).toBeUndefined();
    c.upsert(o('d', '9'));
    expect(c.get('acct-a', 'd')?.spec.baseModel).toBe('9');
  });

  it('lists by namespace', () => {
    const c = new ResourceCache<DeploymentObject>();
    c.upsert(o('a', '1'));
    c.upsert(o('b', '2'));
    c.upsert(o('c', '3', 'acct-b'));
    expect(c.list('acct-a').map((x) => x.metadata.name).sort()).toEqual(['a', 'b']);
    expect(c.size).toBe(3);
  });
});
