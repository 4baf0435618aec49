// GET …/deployments/{d}:timeline (Hearth extension) on PGlite with in-memory kind clients: points
// bucketed from the recorded samples, decisions from the record and from status (deduplicated),
// the kinds (scale to zero, from zero), cold starts, the window rule, and the tenancy rule (404).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvents, recordSamples } from '../../db/repositories/history.js';
import type { MemoryKindClient } from './memory-kind-client.test-helper.js';
import { startTestHearth, type TestHearth } from '../../../test/support/hearth-app.js';

const NOW = new Date('2026-11-26T10:00:00Z');
const at = (secondsAgo: number) => new Date(NOW.getTime() - secondsAgo * 1000);
let h: TestHearth;

async function get(url: string, key = h.key) {
  const r = await h.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
  return { status: r.statusCode, body: JSON.parse(r.body) as Record<string, unknown> };
}

beforeAll(async () => {
  h = await startTestHearth({ app: { now: () => NOW } });
  const deployments = h.app.hearth.deployments as unknown as MemoryKindClient;
  deployments.seed({
    apiVersion: 'hearth.dev/v1alpha1',
    kind: 'Deployment',
    metadata: { name: 'cold', namespace: 'acct-acme' },
    spec: { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', acceleratorType: 'NVIDIA_H100_80GB', minReplicaCount: 0, maxReplicaCount: 2 },
    status: {
      state: 'READY',
      desiredReplicaCount: 1,
      // Also recorded below: one entry in the answer. The newest one only status has.
      scalingDecisions: [
        { time: at(600).toISOString(), fromReplicas: 0, toReplicas: 1, reason: 'ScaleFromZero', message: 'held request' },
        { time: at(100).toISOString(), fromReplicas: 1, toReplicas: 1, reason: 'MaxReplicasReached', message: 'capped' },
      ],
    },
  });
  const base = { accountId: 'acme', deployment: 'cold', resolutionSeconds: 10, requestsPerSecond: 0 };
  await recordSamples(h.database.db, [
    { ...base, time: at(900), desiredReplicas: 1, readyReplicas: 1, inFlight: 0, tokensPerSecond: 0 },
    { ...base, time: at(890), desiredReplicas: 0, readyReplicas: 0, inFlight: 0, tokensPerSecond: 0 },
    { ...base, time: at(600), desiredReplicas: 1, readyReplicas: 0, inFlight: 1, tokensPerSecond: 0 },
    { ...base, time: at(570), desiredReplicas: 1, readyReplicas: 1, inFlight: 1, tokensPerSecond: 40 },
    { ...base, time: at(7200), desiredReplicas: 3, readyReplicas: 3, inFlight: 9, tokensPerSecond: 900 }, // outside 1h
    { ...base, accountId: 'globex', time: at(600), desiredReplicas: 7, readyReplicas: 7, inFlight: 7, tokensPerSecond: 7 },
  ]);
  await recordEvents(h.database.db, [
    { accountId: 'acme', deployment: 'cold', time: at(890), fromReplicas: 1, toReplicas: 0, reason: 'ScaleToZeroWindowElapsed', message: 'idle' },
    { accountId: 'acme', deployment: 'cold', time: at(600), fromReplicas: 0, toReplicas: 1, reason: 'ScaleFromZero', message: 'held request' },
  ]);
});

afterAll(async () => {
  await h?.close();
});

describe('GET :timeline', () => {
  it('answers the last hour: bucketed points, decisions with kinds, the cold start', async () => {
    const r = await get('/v1/accounts/acme/deployments/cold:timeline');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ name: 'accounts/acme/deployments/cold', source: 'HEARTH', stepSeconds: 15, endTime: NOW.toISOString() });
    const points = r.body.points as { time: string; desiredReplicas: number; readyReplicas: number; tokensPerSecond: number }[];
    expect(points.map((p) => p.time)).toEqual([at(900), at(600), at(570)].map((d) => d.toISOString()));
    expect(points[0]).toMatchObject({ desiredReplicas: 0.5, readyReplicas: 0.5 }); // two samples in one 15 s bucket
    expect(points.at(-1)).toMatchObject({ readyReplicas: 1, tokensPerSecond: 40 });
    expect((r.body.decisions as { reason: string; kind: string }[]).map((d) => [d.reason, d.kind])).toEqual([
      ['ScaleToZeroWindowElapsed', 'SCALE_TO_ZERO'],
      ['ScaleFromZero', 'SCALE_FROM_ZERO'],
      ['MaxReplicasReached', 'UNCHANGED'],
    ]);
    expect(r.body.coldStarts).toEqual([{ startTime: at(600).toISOString(), readyTime: at(570).toISOString(), seconds: 30 }]);
  });

  it('a day reaches further back, at a coarser step', async () => {
    const r = await get('/v1/accounts/acme/deployments/cold:timeline?window=1d');
    expect(r.body.stepSeconds).toBe(360);
    expect((r.body.points as { inFlight: number }[]).some((p) => p.inFlight === 9)).toBe(true);
  });

  it('refuses an unknown window naming the field; 404 for a missing deployment and for another account', async () => {
    const bad = await get('/v1/accounts/acme/deployments/cold:timeline?window=2w');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('window');
    expect((await get('/v1/accounts/acme/deployments/nope:timeline')).status).toBe(404);
    expect((await get('/v1/accounts/acme/deployments/cold:timeline', h.otherKey)).status).toBe(404);
    expect((await get('/v1/accounts/globex/deployments/cold:timeline', h.otherKey)).status).toBe(404);
  });

  it('with a Prometheus URL: load and ready replicas from Prometheus, desired replicas and decisions from Hearth', async () => {
    const queries: string[] = [];
    const prom = createServer((req, res) => {
      const q = new URL(req.url ?? '', 'http://x').searchParams;
      queries.push(q.get('query') ?? '');
      const t = Date.parse('2026-11-26T09:50:00Z') / 1000;
      const v = (q.get('query') ?? '').includes('tokens') ? '77' : '1';
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values: [[t, v]] }] } }));
    });
    await new Promise<void>((r) => prom.listen(0, '127.0.0.1', r));
    try {
      const app = await h.another({ now: () => NOW, deployments: h.app.hearth.deployments, timeline: { prometheusUrl: `http://127.0.0.1:${(prom.address() as AddressInfo).port}` } });
      const r = await app.inject({ method: 'GET', url: '/v1/accounts/acme/deployments/cold:timeline', headers: { authorization: `Bearer ${h.key}` } });
      expect(r.statusCode, r.body).toBe(200);
      const body = JSON.parse(r.body) as { source: string; points: unknown[]; decisions: unknown[] };
      expect(body.source).toBe('PROMETHEUS');
      expect(body.points).toEqual([{ time: '2026-11-26T09:50:00.000Z', desiredReplicas: 1, readyReplicas: 1, inFlight: 1, requestsPerSecond: 1, tokensPerSecond: 77 }]);
      expect(body.decisions).toHaveLength(3);
      expect(queries.every((q) => q.includes('namespace="acct-acme",deployment="cold"'))).toBe(true);
    } finally {
      prom.close();
    }
  });

  it('needs a key', async () => {
    const r = await h.app.inject({ method: 'GET', url: '/v1/accounts/acme/deployments/cold:timeline' });
    expect(r.statusCode).toBe(401);
  });
});
