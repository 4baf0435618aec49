// The API key format:
//
//   hearth_<keyId>_<secret><checksum>
//   hearth_ 3KfZq8Lw0bXm _ 9xJ…(32)… 1a2B3c
//
// - `hearth_` makes keys recognisable (secret scanners, logs, humans);
// - keyId: 12 base62 chars (~71 bits), not secret: the lookup handle, also the wire `keyId`;
// - secret: 32 base62 chars (~190 bits) from the CSPRNG;
// - checksum: CRC-32 of everything before it, 6 base62 chars, so a mistyped or truncated key is
//   rejected without a database lookup (and scanners can tell real keys from look-alikes).
//
// Only SHA-256(key) is stored. A fast hash is right here: the key carries ~190 bits of entropy
// from the CSPRNG, so inverting the hash by guessing is infeasible whatever the hash speed;
// slow password hashes (bcrypt, scrypt, argon2) exist to stretch low-entropy human passwords and
// would only add milliseconds of CPU to every request.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const KEY_PREFIX = 'hearth_';
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const KEY_ID_LENGTH = 12;
const SECRET_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const KEY_RE = new RegExp(`^${KEY_PREFIX}([0-9A-Za-z]{${KEY_ID_LENGTH}})_([0-9A-Za-z]{${SECRET_LENGTH}})([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`);
export const KEY_LENGTH = KEY_PREFIX.length + KEY_ID_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH;

/** Uniform base62 from the CSPRNG (rejection sampling: no modulo bias). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 248) out += ALPHABET[b % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

function base62Fixed(n: number, width: number): string {
  let s = '';
  let v = n;
  while (v > 0) {
    s = ALPHABET[v % 62] + s;
    v = Math.floor(v / 62);
  }
  return s.padStart(width, '0');
}

function checksum(body: string): string {
  return base62Fixed(crc32(body) >>> 0, CHECKSUM_LENGTH);
}

export interface GeneratedKey {
  /** The whole key: show it once, never store or log it. */
  key: string;
  keyId: string;
  /** Non-secret leading part shown in lists: `hearth_<keyId>`. */
  prefix: string;
  hash: Buffer;
}

export function generateKey(): GeneratedKey {
  const keyId = randomBase62(KEY_ID_LENGTH);
  const key = formatKey(keyId, randomBase62(SECRET_LENGTH));
  return { key, keyId, prefix: keyPrefix(keyId), hash: hashKey(key) };
}

/** Assembles a key from its parts, appending the checksum. */
export function formatKey(keyId: string, secret: string): string {
  const body = `${KEY_PREFIX}${keyId}_${secret}`;
  return body + checksum(body);
}

export function keyPrefix(keyId: string): string {
  return `${KEY_PREFIX}${keyId}`;
}

export type ParsedKey = { ok: true; keyId: string } | { ok: false; reason: 'MALFORMED' | 'CHECKSUM' };

/** Checks shape and checksum without touching the database. */
export function parseKey(key: string): ParsedKey {
  if (key.length !== KEY_LENGTH) return { ok: false, reason: 'MALFORMED' };
  const m = KEY_RE.exec(key);
  if (!m) return { ok: false, reason: 'MALFORMED' };
  const body = key.slice(0, key.length - CHECKSUM_LENGTH);
  if (checksum(body) !== m[3]) return { ok: false, reason: 'CHECKSUM' };
  return { ok: true, keyId: m[1]! };
}

export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** Constant-time comparison of a presented key with a stored hash. */
export function keyMatchesHash(key: string, stored: Buffer): boolean {
  const presented = hashKey(key);
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive). */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
  return m?.[1];
}

/** For logs: `hearth_<keyId>_…` at most; never the secret part. */
export function redactKey(key: string): string {
  const parsed = parseKey(key);
  return parsed.ok ? `${keyPrefix(parsed.keyId)}_…` : '[redacted]';
}

/** pino `redact` paths that keep keys out of logs (request headers and bodies that echo a key). */
export const LOG_REDACT_PATHS = [
  'req.headers.authorization',
  'request.headers.authorization',
  'headers.authorization',
  '*.apiKey.key',
  'apiKey.key',
  '*.key',
  '*.token',
] as const;
