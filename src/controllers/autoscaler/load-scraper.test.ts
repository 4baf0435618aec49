// The controller's side of the load transport: summing and staleness on a fake clock, and the
// long-poll against real gateways on 127.0.0.1 (their admin listeners, no cluster).
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../gateway/gateway.js';
import { realClock } from '../../util/clock.js';
import { FakeClock } from '../../util/fake-clock.js';
import { GatewayLoadScraper, type GatewayLoadSnapshot } from './load-scraper.js';

const S = 1_000;
const TOKEN = 'internal-token-0123456789';
const entry = (deployment: string, inFlight: number, held = 0, rps = 0, tps = 0) => ({ namespace: 'ns', deployment, inFlight, held, requestsPerSecond: rps, tokensPerSecond: tps });
const snap = (seq: number, ...deployments: ReturnType<typeof entry>[]): GatewayLoadSnapshot => ({ gatewayId: 'gw', bootId: 'b', seq, at: 0, deployments });

describe('GatewayLoadScraper: sums and staleness', () => {
  const scraper = () => new GatewayLoadScraper({ clock: new FakeClock(0), token: TOKEN, targets: [], staleMs: 10 * S });

  it('sums per deployment over the gateway replicas; no fresh replica → no sample', () => {
    const s = scraper();
    expect(s.sample('ns', 'd', 0)).toBeUndefined();
    s.ingest('http://a', snap(1, entry('d', 3, 0, 2, 40)), 0);
    s.ingest('http://b', snap(1, entry('d', 5, 0, 1, 10), entry('e', 1)), 500);
    expect(s.sample('ns', 'd', S)).toEqual({ at: 500, inFlight: 8, requestsPerSecond: 3, tokensPerSecond: 50 });
    expect(s.sample('ns', 'idle', S)).toEqual({ at: 500, inFlight: 0, requestsPerSecond: 0, tokensPerSecond: 0 }); // a fresh zero
    expect(s.sample('ns', 'd', 20 * S)).toBeUndefined();
  });

  it('a replica that misses scrapes keeps its last numbers until they are stale (never read as zero), then drops out', () => {
    const s = scraper();
    for (let t = 0; t <= 4 * S; t += S) {
      s.ingest('http://a', snap(t, entry('d', 16)), t);
      s.ingest('http://b', snap(t, entry('d', 16)), t);
    }
    // b stops answering at 4 s; a keeps answering.
    for (let t = 5 * S; t <= 14 * S; t += S) {
      s.ingest('http://a', snap(t, entry('d', 16)), t);
      expect(s.sample('ns', 'd', t)?.inFlight, `at ${t} ms`).toBe(32);
    }
    s.ingest('http://a', snap(15, entry('d', 16)), 15 * S);
    expect(s.sample('ns', 'd', 15 * S)?.inFlight).toBe(16); // b's data is 11 s old: stale, dropped
    expect(s.liveGateways(15 * S)).toEqual(['http://a']);
  });

  it('fires onDemand when a deployment starts holding requests on a gateway, once per hold', () => {
    const s = scraper();
    const demand: string[] = [];
    s.onDemand((ns, d) => demand.push(`${ns}/${d}`));
    s.ingest('http://a', snap(1, entry('cold', 1, 1, 1)), 0);
    s.ingest('http://a', snap(2, entry('cold', 2, 2, 1)), S);
    s.ingest('http://b', snap(1, entry('cold', 1, 1, 1)), S);
    expect(demand).toEqual(['ns/cold', 'ns/cold']); // a's first hold, b's first hold
    s.ingest('http://a', snap(3, entry('cold', 0)), 2 * S);
    s.ingest('http://a', snap(4, entry('cold', 1, 1, 1)), 3 * S);
    expect(demand).toHaveLength(3);
  });
});

describe('GatewayLoadScraper over HTTP: long-polls real gateways', () => {
  const gateways: Gateway[] = [];
  let scraper: GatewayLoadScraper | undefined;
  afterEach(async () => {
    await scraper?.stop();
    for (const g of gateways.splice(0)) await g.close(100);
  });

  async function gateway(reportIntervalMs = 200): Promise<Gateway> {
    const g = await startGateway(
      { host: '127.0.0.1', port: 0, adminPort: 0, internalToken: TOKEN, reportIntervalMs, processMetrics: false },
      { authenticate: () => Promise.resolve({ ok: false, reason: 'MISSING' }), log: pino({ level: 'silent' }) },
    );
    gateways.push(g);
    return g;
  }

  it('sums two gateways and survives a dead target beside them', async () => {
    const [a, b] = [await gateway(), await gateway()];
    scraper = new GatewayLoadScraper({
      clock: realClock,
      token: TOKEN,
      targets: [a.adminUrl!, b.adminUrl!, 'http://127.0.0.1:1'], // the last one refuses connections
      waitMs: 5_000,
      retryMs: 200,
      log: pino({ level: 'silent' }),
    });
    scraper.start();
    a.core.load.arrived('ns', 'busy');
    b.core.load.arrived('ns', 'busy');
    b.core.load.arrived('ns', 'busy');
    await until(() => scraper!.sample('ns', 'busy', Date.now())?.inFlight === 3, 5_000);
    expect(scraper.liveGateways(Date.now()).sort()).toEqual([a.adminUrl, b.adminUrl].sort());
    await until(() => scraper!.targets().find((t) => t.url === 'http://127.0.0.1:1')?.failing === true, 5_000);
  });

  it('cold start: the first held request wakes the parked scrape at once (the report interval here is 60 s)', async () => {
    const a = await gateway(60_000);
    scraper = new GatewayLoadScraper({ clock: realClock, token: TOKEN, targets: [a.adminUrl!], waitMs: 30_000, log: pino({ level: 'silent' }) });
    const demand: Array<{ key: string; ms: number }> = [];
    let t0 = 0;
    scraper.onDemand((ns, d) => demand.push({ key: `${ns}/${d}`, ms: performance.now() - t0 }));
    scraper.start();
    await until(() => a.loadBoard.waiting() > 0, 5_000); // the scraper's long poll is parked
    t0 = performance.now();
    a.core.load.arrived('ns', 'cold');
    a.core.load.heldStart('ns', 'cold');
    await until(() => demand.length > 0, 5_000);
    expect(demand[0]?.key).toBe('ns/cold');
    expect(scraper.sample('ns', 'cold', Date.now())).toMatchObject({ inFlight: 1 });
  });

  it('a wrong token gets no data (401): no sample, never a zero', async () => {
    const a = await gateway();
    scraper = new GatewayLoadScraper({ clock: realClock, token: 'not-the-right-token', targets: [a.adminUrl!], retryMs: 50, log: pino({ level: 'silent' }) });
    scraper.start();
    a.core.load.arrived('ns', 'busy');
    await until(() => scraper!.targets()[0]?.failing === true, 5_000);
    expect(scraper.sample('ns', 'busy', Date.now())).toBeUndefined();
  });
});

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
