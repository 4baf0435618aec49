import { describe, expect, it } from 'vitest';
import { parseLoopbackHostPort, simulatedDialTarget } from './config.js';

// Reading these settings from the environment (HEARTH_GATEWAY_*) is src/config.ts's; its tests
// (src/config.test.ts) hold the refusals and the error lines that name the variable.
describe('HEARTH_GATEWAY_SIMULATED_UPSTREAM (demo/simulation only)', () => {
  it('accepts the whole 127.0.0.0/8, [::1] and localhost', () => {
    expect(parseLoopbackHostPort('127.3.2.1:8000')).toEqual({ host: '127.3.2.1', port: 8000 });
    expect(parseLoopbackHostPort('[::1]:8000')).toEqual({ host: '::1', port: 8000 });
    expect(parseLoopbackHostPort('[0:0:0:0:0:0:0:1]:8000')).toEqual({ host: '0:0:0:0:0:0:0:1', port: 8000 });
    expect(parseLoopbackHostPort('localhost:1')).toEqual({ host: 'localhost', port: 1 });
    expect(parseLoopbackHostPort('LOCALHOST:65535')).toEqual({ host: 'LOCALHOST', port: 65535 });
  });

  it('simulatedDialTarget refuses a config that bypassed the schema', () => {
    expect(() => simulatedDialTarget({ simulatedUpstream: '10.0.0.5:8000' })).toThrow(/HEARTH_GATEWAY_SIMULATED_UPSTREAM/);
  });
});
