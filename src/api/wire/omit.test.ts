import { describe, expect, it } from 'vitest';
import { omitUnset } from './omit.js';

describe('omitUnset', () => {
  const dto = { name: 'n', description: '', expireTime: undefined, status: { code: 'OK', message: '' }, annotations: {}, tags: [], min: 0, on: false, list: [{ a: null }, { b: 1 }] };

  it('drops unset fields, keeping zero values by default', () => {
    expect(omitUnset(dto)).toEqual({ name: 'n', status: { code: 'OK' }, min: 0, on: false, list: [{}, { b: 1 }] });
  });

  it('drops zero values too when asked (grpc-gateway behaviour)', () => {
    expect(omitUnset(dto, { zeroValues: true })).toEqual({ name: 'n', status: { code: 'OK' }, list: [{}, { b: 1 }] });
  });
});
