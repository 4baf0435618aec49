import { describe, expect, it } from 'vitest';
import { Upstreams, readyAddresses, type EndpointSliceLike } from './upstreams.js';

const slice = (name: string, endpoints: EndpointSliceLike['endpoints'], ports: EndpointSliceLike['ports'] = [{ name: 'http', port: 8000 }]): EndpointSliceLike => ({
  metadata: { name, namespace: 'ns', labels: { 'hearth.dev/deployment': 'd' } },
  addressType: 'IPv4',
  ports,
  endpoints,
});

describe('readyAddresses', () => {
  it('takes ready (or unset) endpoints on the http port, skipping not-ready and terminating ones', () => {
    const s = slice('s', [
      { addresses: ['10.0.0.1'], conditions: { ready: true } },
      { addresses: ['10.0.0.2'], conditions: {} },
      { addresses: ['10.0.0.3'], conditions: { ready: false } },
      { addresses: ['10.0.0.4'], conditions: { ready: true, terminating: true } },
    ], [{ name: 'metrics', port: 9000 }, { name: 'http', port: 8000 }]);
    expect(readyAddresses(s)).toEqual([{ address: '10.0.0.1', port: 8000 }, { address: '10.0.0.2', port: 8000 }]);
  });

  it('ignores FQDN slices and slices without ports', () => {
    expect(readyAddresses({ ...slice('s', [{ addresses: ['a.example'] }]), addressType: 'FQDN' })).toEqual([]);
    expect(readyAddresses(slice('s', [{ addresses: ['10.0.0.1'] }], []))).toEqual([]);
  });
});

describe('Upstreams', () => {
  it('picks the endpoint with the fewest requests in flight', () => {
    const u = new Upstreams();
    u.setSlice('ns/d', 's', [
      { address: 'a', port: 1 },
      { address: 'b', port: 1 },
      { address: 'c', port: 1 },
    ]);
    const got = [u.acquire('ns/d')!, u.acquire('ns/d')!, u.acquire('ns/d')!];
    expect(new Set(got.map((e) => e.address))).toEqual(new Set(['a', 'b', 'c']));
    const byAddr = (x: string) => got.find((e) => e.address === x)!;
    // a: 3 in flight, b: 0, c: 1
    u.acquire('ns/d'); // one more each on some endpoint: rebalance by hand below
    for (const e of u.endpoints('ns/d')) e.inFlight = { a: 3, b: 0, c: 1 }[e.address]!;
    expect(u.acquire('ns/d')!.address).toBe('b');
    expect(u.acquire('ns/d')!.address).not.toBe('a'); // b:1, c:1 tie; a stays the busiest
    u.release(byAddr('a'));
    expect(byAddr('a').inFlight).toBe(2);
    expect(u.acquire('nope')).toBeUndefined();
  });

  it('spreads sequential requests round-robin when nothing is in flight', () => {
    const u = new Upstreams();
    u.setSlice('ns/d', 's', [{ address: 'a', port: 1 }, { address: 'b', port: 1 }]);
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const e = u.acquire('ns/d')!;
      seen.push(e.address);
      u.release(e);
    }
    expect(seen.filter((x) => x === 'a')).toHaveLength(2);
  });

  it('keeps in-flight counts across slice updates and unions slices', () => {
    const u = new Upstreams();
    u.setSlice('ns/d', 's1', [{ address: 'a', port: 1 }]);
    const a = u.acquire('ns/d')!;
    u.setSlice('ns/d', 's2', [{ address: 'b', port: 1 }]);
    u.setSlice('ns/d', 's1', [{ address: 'a', port: 1 }]);
    expect(u.endpoints('ns/d').find((e) => e.id === a.id)?.inFlight).toBe(1);
    expect(u.acquire('ns/d')!.address).toBe('b');
    expect(u.readyCount('ns/d')).toBe(2);
  });

  it('session affinity: the same key sticks to one endpoint; only keys of a removed endpoint move', () => {
    const u = new Upstreams();
    const addrs = ['a', 'b', 'c', 'd'].map((address) => ({ address, port: 1 }));
    u.setSlice('ns/d', 's', addrs);
    const users = Array.from({ length: 400 }, (_, i) => `user-${i}`);
    const before = new Map(users.map((k) => [k, u.acquire('ns/d', k)!.address]));
    for (const k of users) expect(u.acquire('ns/d', k)!.address).toBe(before.get(k)); // stable, whatever the load
    const counts = [...before.values()].reduce((m, a) => m.set(a, (m.get(a) ?? 0) + 1), new Map<string, number>());
    for (const n of counts.values()) expect(n).toBeGreaterThan(60); // spread over all four (100 each on average)
    u.setSlice('ns/d', 's', addrs.filter((a) => a.address !== 'c'));
    for (const k of users) {
      const now = u.acquire('ns/d', k)!.address;
      if (before.get(k) !== 'c') expect(now).toBe(before.get(k));
      else expect(now).not.toBe('c');
    }
  });

  it('tells listeners when a deployment goes from no ready endpoint to some', () => {
    const u = new Upstreams();
    const ready: string[] = [];
    u.onReady((k) => ready.push(k));
    u.upsertSlice(slice('s', [{ addresses: ['10.0.0.1'], conditions: { ready: false } }]));
    expect(ready).toEqual([]);
    expect(u.acquire('ns/d')).toBeUndefined();
    u.upsertSlice(slice('s', [{ addresses: ['10.0.0.1'], conditions: { ready: true } }]));
    expect(ready).toEqual(['ns/d']);
    u.upsertSlice(slice('s2', [{ addresses: ['10.0.0.2'] }]));
    expect(ready).toEqual(['ns/d']);
    u.deleteSlice(slice('s', []));
    u.deleteSlice(slice('s2', []));
    expect(u.readyCount('ns/d')).toBe(0);
    u.upsertSlice(slice('s', [{ addresses: ['10.0.0.1'] }]));
    expect(ready).toEqual(['ns/d', 'ns/d']);
  });
});
