import { ApiException } from '@kubernetes/client-node';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { describe, expect, it } from 'vitest';
import { fromOutageError, outageOf } from './outage-errors.js';

const sysErr = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('outageOf', () => {
  it.each([
    ['a refused socket under drizzle', new DrizzleQueryError('select 1', [], sysErr('ECONNREFUSED')), 'database'],
    ['pg: admin shutdown', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), 'database'],
    ['pg: cannot connect now', Object.assign(new Error('the database system is starting up'), { code: '57P03' }), 'database'],
    ['pg: connection exception class 08', Object.assign(new Error('x'), { code: '08006' }), 'database'],
    ['pg: pool connect timeout', new Error('timeout exceeded when trying to connect'), 'database'],
    ['pg: connection terminated', new DrizzleQueryError('select 1', [], new Error('Connection terminated unexpectedly')), 'database'],
    ['fetch: refused (client-node)', Object.assign(new Error('request to https://127.0.0.1:1/ failed'), { name: 'FetchError', type: 'system', code: 'ECONNREFUSED' }), 'kubernetes'],
    ['apiserver 500', new ApiException(500, 'boom', {}, {}), 'kubernetes'],
    ['apiserver 502', new ApiException(502, 'bad gateway', {}, {}), 'kubernetes'],
    ['a timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'unknown'],
  ])('%s → %s', (_what, err, dep) => {
    expect(outageOf(err)).toBe(dep);
  });

  it.each([
    ['a plain bug', new TypeError('x is undefined')],
    ['pg: unique violation', Object.assign(new Error('dup'), { code: '23505' })],
    ['pg: serialization failure', Object.assign(new Error('retry'), { code: '40001' })],
    ['apiserver 501', new ApiException(501, 'not implemented', {}, {})],
    ['apiserver 404', new ApiException(404, 'gone', {}, {})],
    ['a file error', sysErr('ENOENT')],
  ])('%s is not an outage', (_what, err) => {
    expect(outageOf(err)).toBeUndefined();
    expect(fromOutageError(err)).toBeUndefined();
  });

  it('answers UNAVAILABLE with a RetryInfo and the dependency named', () => {
    const e = fromOutageError(new DrizzleQueryError('select 1', [], sysErr('ECONNREFUSED')));
    expect(e?.httpStatus).toBe(503);
    expect(e?.message).toMatch(/database/);
    expect(JSON.stringify(e?.details)).toMatch(/RetryInfo.*"5s"/);
  });
});
