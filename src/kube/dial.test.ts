import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SimulatedDialMap, directDialer, parseLoopbackHostPort } from './dial.js';

describe('dialling replicas', () => {
  it('production dials the pod address itself', () => {
    expect(directDialer('10.244.1.7', 8000)).toEqual({ host: '10.244.1.7', port: 8000 });
  });

  it('accepts only loopback targets', () => {
    expect(parseLoopbackHostPort('127.0.0.1:9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseLoopbackHostPort('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(parseLoopbackHostPort('localhost:1')).toEqual({ host: 'localhost', port: 1 });
    for (const bad of ['10.0.0.1:9000', 'example.com:80', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', '[2001:db8::1]:80']) expect(parseLoopbackHostPort(bad), bad).toBeUndefined();
  });

  it('SIMULATION: maps listed pod endpoints to loopback fixtures; others go to the fallback, else to themselves', () => {
    const m = new SimulatedDialMap();
    m.set('10.0.0.1:8000', '127.0.0.1:4101');
    expect(m.dial('10.0.0.1', 8000)).toEqual({ host: '127.0.0.1', port: 4101 });
    expect(m.dial('10.0.0.2', 8000)).toEqual({ host: '10.0.0.2', port: 8000 });
    expect(() => m.set('10.0.0.3:8000', '10.0.0.9:80')).toThrow(/loopback/);
    const withFallback = new SimulatedDialMap({ host: '127.0.0.1', port: 4000 });
    expect(withFallback.dial('10.0.0.2', 8000)).toEqual({ host: '127.0.0.1', port: 4000 });
    m.delete('10.0.0.1:8000');
    expect(m.dial('10.0.0.1', 8000)).toEqual({ host: '10.0.0.1', port: 8000 });
  });

  it('SIMULATION: a map file is applied whole or not at all', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-dial-'));
    const file = join(dir, 'map.json');
    writeFileSync(file, JSON.stringify({ '10.0.0.1:8000': '127.0.0.1:4101' }));
    const errors: unknown[] = [];
    const m = new SimulatedDialMap();
    m.watchFile(file, (e) => errors.push(e));
    try {
      expect(m.entries()).toEqual({ '10.0.0.1:8000': '127.0.0.1:4101' });
      expect(() => m.replaceAll({ '10.0.0.2:8000': '127.0.0.1:4102', '10.0.0.3:8000': '8.8.8.8:53' })).toThrow(/loopback/);
      expect(m.entries()).toEqual({ '10.0.0.1:8000': '127.0.0.1:4101' });
      expect(errors).toEqual([]);
    } finally {
      m.close();
    }
  });
});
