// The timeline's pure parts (decision kinds, merging recorded and status decisions, cold starts)
// and the Prometheus reader against a local HTTP server answering Prometheus's query_range API.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusReader, queries } from './prometheus.js';
import { coldStartsOf, kindOf, mergeDecisions, stepOf } from './timeline.js';

describe('kindOf', () => {
  it.each([
    [0, 1, 'SCALE_FROM_ZERO'],
    [2, 0, 'SCALE_TO_ZERO'],
    [1, 3, 'SCALE_UP'],
    [3, 2, 'SCALE_DOWN'],
    [2, 2, 'UNCHANGED'],
    [0, 0, 'UNCHANGED'],
  ] as const)('%i → %i is %s', (from, to, kind) => expect(kindOf(from, to)).toBe(kind));
});

describe('stepOf', () => {
  it('keeps about 240 points a window, never finer than the samples', () => {
    expect(stepOf('15m', 1)).toBe(3.75);
    expect(stepOf('15m')).toBe(10);
    expect(stepOf('1h')).toBe(15);
    expect(stepOf('1d')).toBe(360);
    expect(stepOf('1h', 60)).toBe(60);
  });
});

describe('mergeDecisions and coldStartsOf', () => {
  const from = new Date('2026-11-26T09:00:00Z');
  const to = new Date('2026-11-26T10:00:00Z');
  const rec = (time: string, f: number, t: number, reason: string) => ({ accountId: 'a', deployment: 'd', time: new Date(time), fromReplicas: f, toReplicas: t, reason, message: '' });

  it('one entry per (time, reason), oldest first, inside the window only', () => {
    const merged = mergeDecisions(
      [rec('2026-11-26T09:10:00Z', 0, 1, 'ScaleFromZero'), rec('2026-11-26T08:00:00Z', 1, 0, 'ScaleToZero')],
      [
        { time: '2026-11-26T09:10:00Z', fromReplicas: 0, toReplicas: 1, reason: 'ScaleFromZero' },
        { time: '2026-11-26T09:05:00Z', fromReplicas: 1, toReplicas: 0, reason: 'ScaleToZero', message: 'idle' },
      ],
      from,
      to,
    );
    expect(merged.map((d) => [d.time, d.kind])).toEqual([
      ['2026-11-26T09:05:00.000Z', 'SCALE_TO_ZERO'],
      ['2026-11-26T09:10:00.000Z', 'SCALE_FROM_ZERO'],
    ]);
  });

  it('a cold start ends at the first ready point before the next decision; none found: still starting', () => {
    const decisions = mergeDecisions([], [
      { time: '2026-11-26T09:10:00Z', fromReplicas: 0, toReplicas: 1, reason: 'ScaleFromZero' },
      { time: '2026-11-26T09:20:00Z', fromReplicas: 1, toReplicas: 0, reason: 'ScaleToZero' },
      { time: '2026-11-26T09:30:00Z', fromReplicas: 0, toReplicas: 1, reason: 'ScaleFromZero' },
    ], from, to);
    const points = [
      { time: '2026-11-26T09:10:00.000Z', readyReplicas: 0 },
      { time: '2026-11-26T09:10:20.000Z', readyReplicas: 1 },
      { time: '2026-11-26T09:25:00.000Z', readyReplicas: 1 }, // after the next decision: not this start's
    ];
    expect(coldStartsOf(decisions, points)).toEqual([
      { startTime: '2026-11-26T09:10:00.000Z', readyTime: '2026-11-26T09:10:20.000Z', seconds: 20 },
      { startTime: '2026-11-26T09:30:00.000Z' },
    ]);
  });
});

describe('PrometheusReader', () => {
  let server: Server;
  let url = '';
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const q = new URL(req.url ?? '', 'http://x').searchParams;
      const query = q.get('query') ?? '';
      seen.push(query);
      res.setHeader('content-type', 'application/json');
      if (query.includes('broken')) return res.end(JSON.stringify({ status: 'error', error: 'parse error' }));
      const start = Number(q.get('start'));
      const value = query.includes('ready_endpoints') ? '2' : query.includes('in_flight') ? '5' : query.includes('tokens') ? '41.5' : 'NaN';
      res.end(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values: [[start, value], [start + 30, value]] }] } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('reads each figure of one deployment, quoting the label values', async () => {
    const p = new PrometheusReader(url);
    const from = new Date('2026-11-26T09:00:00Z');
    const points = await p.deploymentSeries({ namespace: 'acct-a', deployment: 'd"x', from, to: new Date('2026-11-26T10:00:00Z'), stepSeconds: 30 });
    expect(points).toEqual([
      { time: '2026-11-26T09:00:00.000Z', readyReplicas: 2, inFlight: 5, requestsPerSecond: 0, tokensPerSecond: 41.5 },
      { time: '2026-11-26T09:00:30.000Z', readyReplicas: 2, inFlight: 5, requestsPerSecond: 0, tokensPerSecond: 41.5 },
    ]);
    expect(seen).toContain(queries('acct-a', 'd"x').inFlight);
    expect(queries('acct-a', 'd"x').inFlight).toBe('sum(hearth_gateway_in_flight_requests{namespace="acct-a",deployment="d\\"x"})');
  });

  it('a refused query or no answer is 503 UNAVAILABLE naming Prometheus', async () => {
    const broken = new PrometheusReader(url, { fetch: (input, init) => fetch(String(input).replace('query=', 'query=broken'), init) });
    await expect(broken.deploymentSeries({ namespace: 'n', deployment: 'd', from: new Date(0), to: new Date(60_000), stepSeconds: 30 })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const away = new PrometheusReader('http://127.0.0.1:1', { timeoutMs: 2000 });
    await expect(away.deploymentSeries({ namespace: 'n', deployment: 'd', from: new Date(0), to: new Date(60_000), stepSeconds: 30 })).rejects.toThrow(/Prometheus at http:\/\/127.0.0.1:1 did not answer/);
  });
});
