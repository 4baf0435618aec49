import { describe, expect, it } from 'vitest';
import { directRouteKeyDigest, directRouteKeyMatches, isDirectRouteKeyDigest } from './direct-route-keys.js';

describe('direct route keys', () => {
  it('digests a key; a digest stays as it is (stable over read-modify-write)', () => {
    const d = directRouteKeyDigest('my-secret-key');
    expect(d).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(d).not.toContain('my-secret-key');
    expect(directRouteKeyDigest(d)).toBe(d);
    expect(isDirectRouteKeyDigest('sha256:abc')).toBe(false);
  });

  it('matches a presented key against the stored digests only', () => {
    const stored = [directRouteKeyDigest('a-key'), directRouteKeyDigest('b-key')];
    expect(directRouteKeyMatches('b-key', stored)).toBe(true);
    expect(directRouteKeyMatches('c-key', stored)).toBe(false);
    expect(directRouteKeyMatches('', stored)).toBe(false);
  });
});
