import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/authenticator.js';
import { assertAccount, assertAdmin, assertCanManageKeysOf, authFailureError } from './authorize.js';

const admin: Principal = { accountId: 'acme', userId: 'ann', email: 'ann@acme.example', role: 'admin', keyId: 'k1' };
const user: Principal = { ...admin, userId: 'bob', role: 'user', keyId: 'k2' };

describe('authorization', () => {
  it('hides other accounts behind NOT_FOUND', () => {
    expect(() => assertAccount(user, 'acme', 'deployment', 'accounts/acme/deployments/d')).not.toThrow();
    try {
      assertAccount(user, 'other', 'deployment', 'accounts/other/deployments/d');
      throw new Error('no error');
    } catch (e) {
      expect((e as { httpStatus: number }).httpStatus).toBe(404);
    }
  });

  it('lets only admins manage users and other users’ keys', () => {
    expect(() => assertAdmin(admin, 'create users')).not.toThrow();
    expect(() => assertAdmin(user, 'create users')).toThrow('only account admins can create users');
    expect(() => assertCanManageKeysOf(user, 'bob')).not.toThrow();
    expect(() => assertCanManageKeysOf(user, 'ann')).toThrow(/admins/);
    expect(() => assertCanManageKeysOf(admin, 'bob')).not.toThrow();
  });

  it('answers every credential problem alike, and says when an account is suspended', () => {
    const msgs = new Set((['MALFORMED', 'UNKNOWN_KEY', 'WRONG_SECRET', 'REVOKED', 'EXPIRED', 'USER_DISABLED', 'ACCOUNT_DISABLED'] as const).map((r) => authFailureError(r).message));
    expect(msgs.size).toBe(1);
    expect(authFailureError('EXPIRED').httpStatus).toBe(401);
    expect(authFailureError('MISSING').message).toMatch(/Authorization: Bearer/);
    expect(authFailureError('ACCOUNT_SUSPENDED').httpStatus).toBe(403);
  });
});
