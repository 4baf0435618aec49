import { describe, expect, it } from 'vitest';
import { accountNamespace, accountOfNamespace, type NamespaceLike } from './account.js';

interface Row {
  name: string;
  ns: NamespaceLike | undefined;
  want: string | undefined;
}

describe('the account of a namespace', () => {
  it.each<Row>([
    { name: 'labelled: the label', ns: { metadata: { name: 'acct-acme', labels: { 'hearth.dev/account': 'acme' } } }, want: 'acme' },
    { name: 'labelled, any name: the label', ns: { metadata: { name: 'team-x', labels: { 'hearth.dev/account': 'acme' } } }, want: 'acme' },
    { name: 'no label: none (never the name, which anyone creating a namespace chooses)', ns: { metadata: { name: 'acme', labels: {} } }, want: undefined },
    { name: 'no labels at all: none', ns: { metadata: { name: 'acme' } }, want: undefined },
    { name: 'empty label: none', ns: { metadata: { name: 'acme', labels: { 'hearth.dev/account': '' } } }, want: undefined },
    { name: 'other labels only: none', ns: { metadata: { name: 'acme', labels: { 'app.kubernetes.io/managed-by': 'hearth' } } }, want: undefined },
    { name: 'unknown namespace (not in the cache): none', ns: undefined, want: undefined },
    {
      name: 'being deleted: still its account (quota to release, usage to record)',
      ns: { metadata: { name: 'acct-acme', labels: { 'hearth.dev/account': 'acme' }, deletionTimestamp: '2026-01-01T00:00:00Z' } },
      want: 'acme',
    },
  ])('$name', ({ ns, want }: Row) => {
    expect(accountOfNamespace(ns)).toBe(want);
  });

  it('maps back what the REST facade creates for an account', () => {
    for (const id of ['acme', 'a', 'x'.repeat(63)]) {
      expect(accountOfNamespace({ metadata: { name: accountNamespace(id), labels: { 'hearth.dev/account': id } } })).toBe(id);
    }
  });
});

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
