import { describe, expect, it } from 'vitest';
import { main, parseConfig } from './main.js';

describe('main', () => {
  it('reads its configuration from the environment with the documented defaults', () => {
    expect(parseConfig({})).toMatchObject({ PORT: 8080, HOST: '127.0.0.1', LOG_LEVEL: 'info', HEARTH_RATE_LIMIT_RPS: 50 });
    expect(parseConfig({ PORT: '9000', DATABASE_URL: 'postgres://x/y' })).toMatchObject({ PORT: 9000, DATABASE_URL: 'postgres://x/y' });
    expect(() => parseConfig({ PORT: 'http', LOG_LEVEL: 'loud' })).toThrow(/PORT[\s\S]*LOG_LEVEL/);
  });

  it('refuses unknown modes and a bootstrap without its arguments, before touching anything', async () => {
    expect(await main(['nonsense'], {})).toBe(2);
    expect(await main(['controller'], { KUBECONFIG: '/nonexistent/kubeconfig' })).toBe(2);
    expect(await main(['bootstrap', '--account', 'acme'], {})).toBe(2);
    expect(await main(['bootstrap', '--account', 'acme', '--email', 'a@b.c'], {})).toBe(2); // no DATABASE_URL
    expect(await main(['api'], { PORT: 'x' })).toBe(2);
    expect(await main(['all'], { KUBECONFIG: '/nonexistent/kubeconfig' })).toBe(2);
  });
});
