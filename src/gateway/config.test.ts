import { describe, expect, it } from 'vitest';
import { GatewayConfig, GatewayConfigError, gatewayConfigFromEnv, parseLoopbackHostPort, simulatedDialTarget } from './config.js';
import type { Endpoint } from './upstreams.js';

const endpoint = (address: string, port: number) => ({ address, port }) as unknown as Endpoint;

function configError(env: NodeJS.ProcessEnv): GatewayConfigError {
  try {
    gatewayConfigFromEnv(env);
  } catch (e) {
    if (e instanceof GatewayConfigError) return e;
    throw e;
  }
  throw new Error('expected a config error');
}

describe('HEARTH_GATEWAY_SIMULATED_UPSTREAM (demo/simulation only)', () => {
  it('unset: no simulated upstream, endpoints are dialled as they are', () => {
    const cfg = gatewayConfigFromEnv({});
    expect(cfg.simulatedUpstream).toBeUndefined();
    expect(simulatedDialTarget(cfg)).toBeUndefined();
    expect(gatewayConfigFromEnv({ HEARTH_GATEWAY_SIMULATED_UPSTREAM: '' }).simulatedUpstream).toBeUndefined();
  });

  it('a loopback host:port maps every endpoint to that address', () => {
    const cfg = gatewayConfigFromEnv({ HEARTH_GATEWAY_SIMULATED_UPSTREAM: '127.0.0.1:41234' });
    expect(cfg.simulatedUpstream).toBe('127.0.0.1:41234');
    const dial = simulatedDialTarget(cfg)!;
    expect(dial(endpoint('10.244.3.7', 8000))).toEqual({ host: '127.0.0.1', port: 41234 });
    expect(dial(endpoint('fd00::5', 9000))).toEqual({ host: '127.0.0.1', port: 41234 });
  });

  it('accepts the whole 127.0.0.0/8, [::1] and localhost', () => {
    expect(parseLoopbackHostPort('127.3.2.1:8000')).toEqual({ host: '127.3.2.1', port: 8000 });
    expect(parseLoopbackHostPort('[::1]:8000')).toEqual({ host: '::1', port: 8000 });
    expect(parseLoopbackHostPort('[0:0:0:0:0:0:0:1]:8000')).toEqual({ host: '0:0:0:0:0:0:0:1', port: 8000 });
    expect(parseLoopbackHostPort('localhost:1')).toEqual({ host: 'localhost', port: 1 });
    expect(parseLoopbackHostPort('LOCALHOST:65535')).toEqual({ host: 'LOCALHOST', port: 65535 });
  });

  it.each([
    ['a routable IPv4 host', '10.0.0.5:8000'],
    ['a public IPv4 host', '8.8.8.8:53'],
    ['the unspecified address', '0.0.0.0:8000'],
    ['a non-loopback IPv6 host', '[fd00::1]:8000'],
    ['the IPv6 unspecified address', '[::]:8000'],
    ['a DNS name', 'model.example.com:8000'],
    ['a name that starts with localhost', 'localhost.example.com:8000'],
    ['no port', '127.0.0.1'],
    ['port 0', '127.0.0.1:0'],
    ['a port above 65535', '127.0.0.1:65536'],
    ['a URL instead of host:port', 'http://127.0.0.1:8000'],
    ['a path after the port', '127.0.0.1:8000/v1'],
    ['unbracketed IPv6', '::1:8000'],
  ])('refuses %s (%s) with an error naming the variable', (_what, value) => {
    expect(parseLoopbackHostPort(value)).toBeUndefined();
    const err = configError({ HEARTH_GATEWAY_SIMULATED_UPSTREAM: value });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^HEARTH_GATEWAY_SIMULATED_UPSTREAM: demo\/simulation only; must be <loopback host>:<port>/);
    expect(err.message).toContain('HEARTH_GATEWAY_SIMULATED_UPSTREAM');
  });

  it('every bad gateway variable is named, one line each', () => {
    const err = configError({ HEARTH_GATEWAY_SIMULATED_UPSTREAM: '10.0.0.5:8000', HEARTH_GATEWAY_PORT: 'eighty' });
    expect(err.problems.map((p) => p.split(':')[0]).sort()).toEqual(['HEARTH_GATEWAY_PORT', 'HEARTH_GATEWAY_SIMULATED_UPSTREAM']);
  });

  it('a parsed config parses again unchanged (startGateway re-parses what main.ts passes)', () => {
    const cfg = gatewayConfigFromEnv({ HEARTH_GATEWAY_SIMULATED_UPSTREAM: '[::1]:8000', HEARTH_GATEWAY_PORT: '0' });
    expect(GatewayConfig.parse(cfg)).toEqual(cfg);
  });

  it('simulatedDialTarget refuses a config that bypassed the schema', () => {
    expect(() => simulatedDialTarget({ simulatedUpstream: '10.0.0.5:8000' })).toThrow(/HEARTH_GATEWAY_SIMULATED_UPSTREAM/);
  });
});
