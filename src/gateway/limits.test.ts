// Admission budgets in isolation (fake clock): rate per key and per account, concurrency, bytes.
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../util/fake-clock.js';
import { GatewayError } from './errors.js';
import { Admission, type AdmissionLimits, type Ticket } from './limits.js';

const LIMITS: AdmissionLimits = {
  maxInFlight: 10,
  maxInFlightPerKey: 3,
  maxInFlightPerAccount: 5,
  maxBufferedBytes: 1000,
  maxBufferedBytesPerKey: 600,
  keyRatePerSecond: 1,
  keyRateBurst: 100,
  accountRatePerSecond: 1,
  accountRateBurst: 100,
};

function ticket(a: Admission, key: string, account: string): Ticket {
  const t = a.admit(key, account);
  if (t instanceof GatewayError) throw t;
  return t;
}
const code = (x: unknown) => (x instanceof GatewayError ? `${x.status} ${x.code}` : 'admitted');

describe('Admission', () => {
  it('bounds requests in flight per key, per account and in total, and frees them on release', () => {
    const a = new Admission({ ...LIMITS }, new FakeClock());
    const k1 = [ticket(a, 'k1', 'acme'), ticket(a, 'k1', 'acme'), ticket(a, 'k1', 'acme')];
    expect(code(a.admit('k1', 'acme'))).toBe('429 too_many_concurrent_requests');
    // Another key of the same account still gets in, up to the account's bound.
    ticket(a, 'k2', 'acme');
    ticket(a, 'k2', 'acme');
    expect(code(a.admit('k3', 'acme'))).toBe('429 too_many_concurrent_requests');
    // Another account is untouched by acme's use, up to the global bound.
    for (let i = 0; i < 5; i++) ticket(a, `o${i}`, `other${i}`);
    expect(a.inFlight).toBe(10);
    expect(code(a.admit('z', 'zeta'))).toBe('503 overloaded');
    k1[0]!.release();
    k1[0]!.release(); // twice: counted once
    expect(a.inFlight).toBe(9);
    expect(code(a.admit('k1', 'acme'))).toBe('admitted');
  });

  it('counts body bytes per key and in total; a refused reservation counts nothing', () => {
    const a = new Admission({ ...LIMITS }, new FakeClock());
    const t1 = ticket(a, 'k1', 'acme');
    expect(t1.reserve(500)).toBeUndefined();
    const t2 = ticket(a, 'k1', 'acme');
    expect(code(t2.reserve(200))).toBe('429 too_many_buffered_bytes'); // 700 > 600 for k1
    expect(t2.bytes).toBe(0);
    const t3 = ticket(a, 'k2', 'beta');
    expect(t3.reserve(500)).toBeUndefined();
    const t4 = ticket(a, 'k3', 'gamma');
    expect(code(t4.reserve(1))).toBe('503 overloaded'); // 1001 > 1000 in total
    expect(a.bufferedBytes).toBe(1000);
    expect(t1.resize(100)).toBeUndefined(); // shrinking always works
    expect(t4.reserve(400)).toBeUndefined();
    expect(a.peakBytes).toBeLessThanOrEqual(1000);
    for (const t of [t1, t2, t3, t4]) t.release();
    expect(a.bufferedBytes).toBe(0);
    expect(a.keyUsage('k1')).toEqual({ n: 0, bytes: 0 });
  });

  it('limits the rate per key and per account (minting keys does not multiply it), with a Retry-After', () => {
    const clock = new FakeClock();
    const a = new Admission({ ...LIMITS, maxInFlightPerKey: 100, maxInFlightPerAccount: 100, maxInFlight: 100, keyRateBurst: 2, accountRateBurst: 3 }, clock);
    ticket(a, 'k1', 'acme').release();
    ticket(a, 'k1', 'acme').release();
    const byKey = a.admit('k1', 'acme');
    expect(code(byKey)).toBe('429 rate_limit_exceeded');
    expect((byKey as GatewayError).retryAfterSeconds).toBe(1);
    expect((byKey as GatewayError).message).toContain('API key');
    ticket(a, 'k2', 'acme').release(); // a second key: the account's third request
    const byAccount = a.admit('k3', 'acme');
    expect(code(byAccount)).toBe('429 rate_limit_exceeded');
    expect((byAccount as GatewayError).message).toContain('account');
    expect(code(a.admit('b1', 'beta'))).toBe('admitted'); // another account is not affected
    clock.advance(1000);
    expect(code(a.admit('k3', 'acme'))).toBe('admitted');
  });
});
