import { describe, expect, it } from 'vitest';
import { main } from './main.js';

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
