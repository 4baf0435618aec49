import { describe, expect, it } from 'vitest';
import { NamespaceSeal, accountNamespace, accountOfNamespace, unverifiedAccountOf, type NamespaceLike } from './account.js';

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

describe('NamespaceSeal: Hearth owns the namespace ↔ account mapping (issue 15 item 5)', () => {
  const seal = new NamespaceSeal('unit tests: the namespace seal');
  const sealed = (name: string, account: string): NamespaceLike => ({ metadata: { name, ...seal.metadataFor(name, account) } });

  it('verifies what Hearth made, and nothing a user can write', () => {
    expect(seal.tenancyOf(sealed('acct-acme', 'acme'))).toEqual({ kind: 'account', account: 'acme' });
    expect(seal.tenancyOf(sealed('team-x', 'acme'))).toEqual({ kind: 'account', account: 'acme' }); // any name Hearth sealed
    expect(seal.tenancyOf({ metadata: { name: 'acct-acme' } })).toEqual({ kind: 'none' });
    expect(seal.tenancyOf(undefined)).toEqual({ kind: 'none' });
    const forged: Array<[string, NamespaceLike]> = [
      ['labelled by hand, no seal', { metadata: { name: 'team-x', labels: { 'hearth.dev/account': 'acme' } } }],
      ['a seal copied from another namespace', { metadata: { name: 'team-x', labels: { 'hearth.dev/account': 'acme' }, annotations: { 'hearth.dev/account-seal': seal.seal('acct-acme', 'acme') } } }],
      ['the label changed to another account', { metadata: { name: 'acct-acme', labels: { 'hearth.dev/account': 'globex' }, annotations: { 'hearth.dev/account-seal': seal.seal('acct-acme', 'acme') } } }],
      ['a seal of another installation', { metadata: { name: 'acct-acme', ...new NamespaceSeal('another installation').metadataFor('acct-acme', 'acme') } }],
      ['a truncated seal', { metadata: { name: 'acct-acme', labels: { 'hearth.dev/account': 'acme' }, annotations: { 'hearth.dev/account-seal': seal.seal('acct-acme', 'acme').slice(0, -1) } } }],
      ['garbage', { metadata: { name: 'acct-acme', labels: { 'hearth.dev/account': 'acme' }, annotations: { 'hearth.dev/account-seal': 'v1.' } } }],
    ];
    for (const [why, ns] of forged) expect(seal.tenancyOf(ns), why).toEqual({ kind: 'unverified', claimed: ns.metadata!.labels!['hearth.dev/account'] });
  });

  it('a separator in names cannot make two (namespace, account) pairs share a seal', () => {
    expect(seal.seal('a', 'b-c')).not.toBe(seal.seal('a-b', 'c'));
    expect(seal.seal('acct-acme', 'acme')).toMatch(/^v1\.[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a short secret', () => {
    expect(() => new NamespaceSeal('short')).toThrow(/at least 16 bytes/);
  });

  it('projects: a sealed or unlabelled namespace unchanged (same object), a forged label dropped and named as unverified', () => {
    const ok = sealed('acct-acme', 'acme');
    expect(seal.project(ok)).toBe(ok);
    const plain = { metadata: { name: 'default', labels: { team: 'a' } } };
    expect(seal.project(plain)).toBe(plain);
    const told: string[] = [];
    const forged = { metadata: { name: 'team-x', labels: { 'hearth.dev/account': 'acme', team: 'a' }, annotations: { note: 'n' } } };
    const p = seal.project(forged, (name, claimed) => told.push(`${name}:${claimed}`));
    expect(p.metadata).toEqual({ name: 'team-x', labels: { team: 'a' }, annotations: { note: 'n', 'hearth.dev/account-unverified': 'acme' } });
    expect(accountOfNamespace(p)).toBeUndefined();
    expect(unverifiedAccountOf(p)).toBe('acme');
    expect(told).toEqual(['team-x:acme']);
    expect(forged.metadata.labels['hearth.dev/account']).toBe('acme'); // the input is not mutated
  });

  it('the unverified marker is the projection\'s alone: one written on the object is dropped', () => {
    const p = seal.project({ metadata: { name: 'acct-acme', ...seal.metadataFor('acct-acme', 'acme'), annotations: { ...seal.metadataFor('acct-acme', 'acme').annotations, 'hearth.dev/account-unverified': 'x' } } });
    expect(accountOfNamespace(p)).toBe('acme');
    expect(unverifiedAccountOf(p)).toBeUndefined();
  });
});
