// PostgreSQL rows → Fireworks wire resources: Account, User, ApiKey, Quota.
import { z } from 'zod';
import type { Account, ApiKeyRow, QuotaRow, User } from '../../db/schema/index.js';
import { ACCOUNT_STATES, SUSPEND_STATES, USER_ROLES } from '../../db/schema/index.js';
import { formatInt64 } from '../wire/int64.js';
import { omitUnset } from '../wire/omit.js';
import { formatOptionalTimestamp, formatTimestamp } from '../wire/timestamp.js';

const ts = z.string().describe('RFC 3339 timestamp.');

export const AccountResponse = z
  .object({
    name: z.string().describe('accounts/{account}'),
    displayName: z.string(),
    createTime: ts,
    updateTime: ts,
    accountType: z.enum(['ACCOUNT_TYPE_UNSPECIFIED', 'ENTERPRISE']),
    email: z.string(),
    state: z.enum(ACCOUNT_STATES),
    suspendState: z.enum(SUSPEND_STATES),
  })
  .partial()
  .describe('A Fireworks Account.');

export function accountToWire(a: Account): Record<string, unknown> {
  return omitUnset({
    name: `accounts/${a.accountId}`,
    displayName: a.displayName,
    createTime: formatTimestamp(a.createTime),
    updateTime: formatTimestamp(a.updateTime),
    accountType: a.accountType === 'ACCOUNT_TYPE_UNSPECIFIED' ? undefined : a.accountType,
    email: a.email,
    state: a.state,
    suspendState: a.suspendState,
  });
}

export const UserResponse = z
  .object({
    name: z.string().describe('accounts/{account}/users/{user}'),
    displayName: z.string(),
    serviceAccount: z.boolean(),
    createTime: ts,
    updateTime: ts,
    role: z.enum(USER_ROLES),
    email: z.string(),
    state: z.enum(ACCOUNT_STATES),
  })
  .partial()
  .describe('A Fireworks User.');

export function userToWire(u: User): Record<string, unknown> {
  return omitUnset({
    name: `accounts/${u.accountId}/users/${u.userId}`,
    displayName: u.displayName,
    serviceAccount: u.serviceAccount || undefined,
    createTime: formatTimestamp(u.createTime),
    updateTime: formatTimestamp(u.updateTime),
    role: u.role,
    email: u.email,
    state: u.state,
  });
}

export const ApiKeyResponse = z
  .object({
    keyId: z.string(),
    displayName: z.string(),
    key: z.string().describe('The key itself: returned once, by create.'),
    createTime: ts,
    secure: z.boolean().describe('Always true: Hearth stores only a hash of the key.'),
    email: z.string().describe("Owner's e-mail."),
    prefix: z.string().describe('Leading, non-secret characters of the key.'),
    expireTime: ts,
    annotations: z.record(z.string(), z.string()),
    lastUsed: ts,
  })
  .partial()
  .describe('A Fireworks ApiKey.');

export function apiKeyToWire(k: ApiKeyRow, email: string, plaintext?: string): Record<string, unknown> {
  return omitUnset({
    keyId: k.keyId,
    displayName: k.displayName,
    key: plaintext,
    createTime: formatTimestamp(k.createTime),
    secure: true,
    email,
    prefix: k.prefix,
    expireTime: formatOptionalTimestamp(k.expireTime),
    annotations: k.annotations,
    lastUsed: formatOptionalTimestamp(k.lastUsed),
  });
}

export const QuotaResponse = z
  .object({
    name: z.string().describe('accounts/{account}/quotas/{quota}, e.g. h100-us-virginia-2.'),
    value: z.string().describe('int64: the enforced value (at most maxValue).'),
    maxValue: z.string().describe('int64: the approved ceiling.'),
    usage: z.number().describe('What is in use now.'),
    updateTime: ts,
  })
  .partial()
  .describe('A Fireworks Quota.');

export function quotaToWire(q: QuotaRow): Record<string, unknown> {
  return {
    name: `accounts/${q.accountId}/quotas/${q.name}`,
    value: formatInt64(q.value),
    maxValue: formatInt64(q.maxValue),
    usage: q.usage,
    updateTime: formatTimestamp(q.updateTime),
  };
}
