import { describe, expect, it } from 'vitest';
import { accountNamespace } from './namespaces.js';

describe('accountNamespace', () => {
  it('is acct-<id>, and stays a distinct DNS label for long ids', () => {
    expect(accountNamespace('acme')).toBe('acct-acme');
    const a = accountNamespace(`a${'b'.repeat(62)}`);
    const b = accountNamespace(`a${'b'.repeat(61)}c`);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
    expect(a).not.toBe(b);
  });
});
