import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { SftMetrics, sftMetricsRoute } from './sft-trainer.js';

// GET /metrics/sft names every account's jobs: never public (issue 15 item 3).
describe('GET /metrics/sft', () => {
  const app = async (token: string | undefined) => {
    const a = Fastify();
    const m = new SftMetrics();
    m.step.set({ account: 'acme', job: 'secret-project' }, 3);
    await a.register(sftMetricsRoute(m, token));
    return a;
  };

  it('does not exist without a metrics token', async () => {
    const a = await app(undefined);
    expect((await a.inject({ method: 'GET', url: '/metrics/sft' })).statusCode).toBe(404);
  });

  it('answers only the bearer of the token', async () => {
    const a = await app('0123456789abcdef-token');
    const none = await a.inject({ method: 'GET', url: '/metrics/sft' });
    expect(none.statusCode).toBe(401);
    expect(none.body).not.toContain('secret-project');
    expect((await a.inject({ method: 'GET', url: '/metrics/sft', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    const ok = await a.inject({ method: 'GET', url: '/metrics/sft', headers: { authorization: 'Bearer 0123456789abcdef-token' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('hearth_sft_job_step{account="acme",job="secret-project"} 3');
  });
});
