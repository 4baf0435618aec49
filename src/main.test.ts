import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { main, untilSignalOrFailure, type Service, type Signals } from './main.js';

describe('main', () => {
  it('refuses unknown modes and a bootstrap without its arguments, before touching anything', async () => {
    expect(await main(['nonsense'], {})).toBe(2);
    expect(await main(['controller'], { KUBECONFIG: '/nonexistent/kubeconfig' })).toBe(2);
    expect(await main(['bootstrap', '--account', 'acme'], {})).toBe(2);
    expect(await main(['bootstrap', '--account', 'acme', '--email', 'a@b.c'], {})).toBe(2); // no DATABASE_URL
    expect(await main(['api'], { PORT: 'x' })).toBe(2);
    expect(await main(['all'], { KUBECONFIG: '/nonexistent/kubeconfig' })).toBe(2);
    // Every mode's settings are checked before anything starts, the gateway's too.
    expect(await main(['gateway'], { HEARTH_GATEWAY_PORT: 'eighty' })).toBe(2);
  });
});

describe('untilSignalOrFailure: how a started process ends', () => {
  const log = pino({ level: 'silent' });
  const signals = (): EventEmitter & Signals => new EventEmitter() as EventEmitter & Signals;

  it('exits 1 when a service fails after it started (a controller whose start failed: manager.done rejected)', async () => {
    let fail!: (err: Error) => void;
    const failed = new Promise<never>((_, reject) => (fail = reject));
    const services: Service[] = [{ name: 'api', stop: async () => {} }, { name: 'controller', stop: async () => {}, failed }];
    const s = signals();
    const code = untilSignalOrFailure(services, log, s);
    fail(new Error('controller deployment: caches did not sync within 120000 ms'));
    expect(await code).toBe(1);
    expect(s.listenerCount('SIGTERM')).toBe(0);
  });

  it('exits 0 on SIGTERM or SIGINT', async () => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const s = signals();
      const code = untilSignalOrFailure([{ name: 'controller', stop: async () => {}, failed: new Promise<never>(() => {}) }], log, s);
      s.emit(sig);
      expect(await code).toBe(0);
    }
  });
});
