import { describe, expect, it } from 'vitest';
import { KEY_LENGTH, bearerToken, generateKey, hashKey, keyMatchesHash, parseKey, randomBase62, redactKey } from './key-format.js';

describe('API key format', () => {
  it('generates recognisable, parseable, distinct keys', () => {
    const keys = Array.from({ length: 200 }, () => generateKey());
    for (const k of keys) {
      expect(k.key).toMatch(/^hearth_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}$/);
      expect(k.key.length).toBe(KEY_LENGTH);
      expect(k.prefix).toBe(`hearth_${k.keyId}`);
      expect(k.key.startsWith(k.prefix)).toBe(true);
      expect(parseKey(k.key)).toEqual({ ok: true, keyId: k.keyId });
      expect(k.hash.equals(hashKey(k.key))).toBe(true);
    }
    expect(new Set(keys.map((k) => k.key)).size).toBe(200);
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(200);
  });

  it('rejects a typo by checksum, before any lookup', () => {
    const { key } = generateKey();
    const i = 30;
    const typo = key.slice(0, i) + (key[i] === 'a' ? 'b' : 'a') + key.slice(i + 1);
    expect(parseKey(typo)).toEqual({ ok: false, reason: 'CHECKSUM' });
    const swapped = key.slice(0, 20) + key[21] + key[20] + key.slice(22);
    if (swapped !== key) expect(parseKey(swapped).ok).toBe(false);
  });

  it.each(['', 'hearth_', 'sk-abc', 'hearth_short_x', `fw_${'a'.repeat(50)}`, `hearth_${'a'.repeat(12)}-${'b'.repeat(38)}`])('rejects malformed %j', (k) => {
    expect(parseKey(k)).toEqual({ ok: false, reason: 'MALFORMED' });
  });

  it('compares hashes in constant time and exactly', () => {
    const a = generateKey();
    const b = generateKey();
    expect(keyMatchesHash(a.key, a.hash)).toBe(true);
    expect(keyMatchesHash(b.key, a.hash)).toBe(false);
    expect(keyMatchesHash(a.key, Buffer.alloc(3))).toBe(false);
  });

  it('uses the whole base62 alphabet roughly uniformly', () => {
    const s = randomBase62(62 * 400);
    const counts = new Map<string, number>();
    for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    for (const n of counts.values()) expect(n).toBeGreaterThan(250);
  });

  it('reads bearer tokens', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer   abc ')).toBe('abc');
    expect(bearerToken(['Bearer x', 'Bearer y'])).toBe('x');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('redacts keys for logs', () => {
    const k = generateKey();
    expect(redactKey(k.key)).toBe(`${k.prefix}_…`);
    expect(redactKey(k.key)).not.toContain(k.key.slice(20));
    expect(redactKey('whatever-secret')).toBe('[redacted]');
  });
});
