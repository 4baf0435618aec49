import { describe, expect, it } from 'vitest';
import { hearthDeployment } from '../testing.js';
import { MAX_NAME_LENGTH, deploymentLabelValue, dnsLabel, service, workload } from './names.js';

const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

describe('dnsLabel', () => {
  const long = `a${'b'.repeat(70)}`;
  it.each([
    { name: 'valid names are kept', input: 'chat-server', want: 'chat-server' },
    { name: 'single letter', input: 'a', want: 'a' },
    { name: 'exactly 63 characters', input: 'a'.repeat(63), want: 'a'.repeat(63) },
  ])('$name', ({ input, want }) => {
    expect(dnsLabel(input)).toBe(want);
  });

  it.each([
    { name: 'too long', input: long },
    { name: '64 characters', input: 'a'.repeat(64) },
    { name: 'upper case and underscores', input: 'My_Model' },
    { name: 'leading digit', input: '1chat' },
    { name: 'trailing dash', input: 'chat-' },
    { name: 'dots', input: 'llama.v3' },
  ])('$name: shortened or sanitised, hash-suffixed, DNS-1035', ({ input }) => {
    const out = dnsLabel(input);
    expect(out).toMatch(DNS_1035);
    expect(out.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
    expect(out).toMatch(/-[0-9a-f]{10}$/);
    expect(dnsLabel(input)).toBe(out); // stable
  });

  it('keeps distinct inputs distinct, even when they sanitise or truncate alike', () => {
    expect(dnsLabel('My_Model')).not.toBe(dnsLabel('my-model'));
    expect(dnsLabel('My_Model')).not.toBe(dnsLabel('my_model'));
    expect(dnsLabel(`${long}x`)).not.toBe(dnsLabel(`${long}y`));
  });
});

describe('child names', () => {
  it.each([
    { name: 'short owner', owner: 'chat', workload: 'chat-server', service: 'chat-server', label: 'chat' },
    {
      name: 'owner at the 63-character limit',
      owner: `d${'x'.repeat(62)}`,
      workload: undefined,
      service: undefined,
      label: `d${'x'.repeat(62)}`,
    },
  ])('$name', ({ owner, workload: w, service: s, label }) => {
    const dep = hearthDeployment({}, { name: owner });
    if (w) expect(workload(dep)).toBe(w);
    if (s) expect(service(dep)).toBe(s);
    for (const n of [workload(dep), service(dep), deploymentLabelValue(dep)]) {
      expect(n).toMatch(DNS_1035);
      expect(n.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
    }
    expect(deploymentLabelValue(dep)).toBe(label);
  });

  it('gives different owners different children', () => {
    const a = hearthDeployment({}, { name: `d${'x'.repeat(61)}a` });
    const b = hearthDeployment({}, { name: `d${'x'.repeat(61)}b` });
    expect(service(a)).not.toBe(service(b));
    expect(workload(a)).not.toBe(workload(b));
  });
});

describe('unnamed owners', () => {
  it('cannot name children', () => {
    const dep = hearthDeployment({}, { name: '' });
    expect(() => workload(dep)).toThrow(/without metadata.name/);
    expect(() => service(dep)).toThrow(/without metadata.name/);
  });
});
