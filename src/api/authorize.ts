// Authorization rules of the docs: every user of an account may manage its resources; only admins
// manage users and other users' API keys. Another account's resources do not exist for the caller
// (404, never 403), so existence does not leak across accounts.
import { notFound, permissionDenied, unauthenticated, type ApiError } from './wire/errors.js';
import type { AuthFailureReason, Principal } from '../auth/authenticator.js';

export function isAdmin(p: Principal): boolean {
  return p.role === 'admin';
}

/** Throws NOT_FOUND (naming the resource asked for) when the caller is not in `accountId`. */
export function assertAccount(p: Principal, accountId: string, resourceType: string, name: string): void {
  if (p.accountId !== accountId) throw notFound(resourceType, name);
}

export function assertAdmin(p: Principal, action: string): void {
  if (!isAdmin(p)) throw permissionDenied(`only account admins can ${action}`);
}

/** Own keys: any user. Someone else's keys: admins only. */
export function assertCanManageKeysOf(p: Principal, userId: string): void {
  if (p.userId !== userId && !isAdmin(p)) throw permissionDenied("only account admins can manage other users' API keys");
}

/**
 * The error for a failed authentication. All credential problems read the same to the client
 * (no oracle for which keys exist or were revoked); a suspended account is told why.
 */
export function authFailureError(reason: AuthFailureReason): ApiError {
  if (reason === 'ACCOUNT_SUSPENDED') return permissionDenied('the account is suspended');
  if (reason === 'MISSING') return unauthenticated('missing API key: send "Authorization: Bearer <API key>"');
  return unauthenticated('invalid, expired or revoked API key');
}
