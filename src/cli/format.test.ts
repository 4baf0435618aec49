import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { bytes, describe as describeResource, eta, idOf, modelName, parseBool, parseDuration, parseInt32, parseOutput, table, col, idCol } from './format.js';

describe('parseDuration: firectl (Go) durations to the wire form', () => {
  it.each([
    ['30s', '30s'],
    ['10m', '600s'],
    ['1h', '3600s'],
    ['168h0m0s', '604800s'],
    ['1h30m', '5400s'],
    ['1.5h', '5400s'],
    ['500ms', '0.5s'],
    ['300', '300s'],
  ])('%s → %s', (input, wire) => expect(parseDuration('scale-to-zero-window', input)).toBe(wire));

  it.each(['', 'abc', '10x', '5m foo', 'm5'])('refuses %j naming the flag', (input) => {
    expect(() => parseDuration('scale-to-zero-window', input)).toThrow(UsageError);
    expect(() => parseDuration('scale-to-zero-window', input)).toThrow(/--scale-to-zero-window/);
  });
});

describe('numbers, booleans, ids', () => {
  it('parseInt32 names the flag and the rule', () => {
    expect(parseInt32('min-replica-count', '3')).toBe(3);
    expect(() => parseInt32('min-replica-count', 'x')).toThrow('--min-replica-count: "x" is not an integer');
    expect(() => parseInt32('min-replica-count', '-1')).toThrow(/--min-replica-count: must be between 0/);
    expect(() => parseInt32('lora-rank', '0', 1)).toThrow(/between 1/);
    expect(() => parseInt32('epochs', '3000000000')).toThrow(/--epochs/);
  });
  it('parseBool takes pflag forms', () => {
    expect(parseBool('public', true)).toBe(true);
    expect(parseBool('public', 'false')).toBe(false);
    expect(parseBool('public', 'TRUE')).toBe(true);
    expect(parseBool('public', undefined)).toBeUndefined();
    expect(() => parseBool('public', 'maybe')).toThrow('--public: "maybe" is not true or false');
  });
  it('ids and model names', () => {
    expect(idOf('accounts/acme/deployments/d1')).toBe('d1');
    expect(idOf('d1')).toBe('d1');
    expect(() => idOf('accounts/acme/')).toThrow(UsageError);
    expect(modelName('my-lora', 'acme')).toBe('accounts/acme/models/my-lora');
    expect(modelName('accounts/fireworks/models/x', 'acme')).toBe('accounts/fireworks/models/x');
  });
  it('output formats', () => {
    expect(parseOutput(undefined)).toBe('table');
    expect(parseOutput('text')).toBe('table');
    expect(parseOutput('JSON')).toBe('json');
    expect(() => parseOutput('xml')).toThrow(/--output: "xml"/);
  });
});

describe('tables and descriptions', () => {
  const rows = [
    { name: 'accounts/a/deployments/one', state: 'READY', replicaStats: { readyReplicaCount: 2 } },
    { name: 'accounts/a/deployments/second', state: 'CREATING' },
  ];
  it('aligns columns under their headers; missing values are blank', () => {
    expect(table(rows, [idCol(), col('STATE', 'state'), col('READY', 'replicaStats.readyReplicaCount')])).toBe(
      ['NAME    STATE     READY', 'one     READY     2', 'second  CREATING'].join('\n'),
    );
  });
  it('describe flattens nested fields with dots', () => {
    expect(describeResource({ name: 'x', autoscalingPolicy: { scaleToZeroWindow: '600s' }, tags: ['a'] })).toBe(
      [['name:', 'x'], ['autoscalingPolicy.scaleToZeroWindow:', '600s'], ['tags:', '["a"]']].map(([k, v]) => `${k!.padEnd(36)} ${v}`).join('\n'),
    );
  });
  it('bytes and eta', () => {
    expect(bytes(512)).toBe('512 B');
    expect(bytes(1536)).toBe('1.5 KiB');
    expect(bytes(5 * 1024 * 1024)).toBe('5.0 MiB');
    expect(eta(42)).toBe('42s');
    expect(eta(185)).toBe('3m05s');
    expect(eta(3720)).toBe('1h02m');
    expect(eta(undefined)).toBe('?');
    expect(eta(Infinity)).toBe('?');
  });
});
