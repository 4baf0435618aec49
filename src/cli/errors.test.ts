import { describe, expect, it } from 'vitest';
import { ApiCallError, EXIT, UsageError, apiErrorOf, describeError } from './errors.js';

describe('errors and exit codes', () => {
  it('a google.rpc.Status body: code name, message, field violations', () => {
    const e = apiErrorOf(400, {
      code: 3,
      message: 'invalid deployment',
      details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'autoscalingPolicy.scaleToZeroWindow', description: 'must be at least 5m' }] }],
    });
    expect(e).toBeInstanceOf(ApiCallError);
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(describeError(e)).toEqual({ text: 'error: INVALID_ARGUMENT: invalid deployment\n  autoscalingPolicy.scaleToZeroWindow: must be at least 5m', exitCode: EXIT.api });
  });
  it('a violation the message already says is not repeated', () => {
    const e = apiErrorOf(400, { code: 3, message: 'acceleratorType: must be one of A, B', details: [{ fieldViolations: [{ field: 'acceleratorType', description: 'must be one of A, B' }] }] });
    expect(describeError(e).text).toBe('error: INVALID_ARGUMENT: acceleratorType: must be one of A, B');
  });
  it('a body that is not a Status still gives a message', () => {
    expect(apiErrorOf(502, 'Bad Gateway')).toMatchObject({ code: 'HTTP_502', message: 'Bad Gateway' });
    expect(apiErrorOf(404, {})).toMatchObject({ code: 'HTTP_404', message: 'HTTP 404' });
  });
  it('usage errors exit 2, API errors 1', () => {
    expect(describeError(new UsageError('--epochs: bad'))).toEqual({ text: 'error: --epochs: bad', exitCode: 2 });
    expect(describeError(new Error('boom')).exitCode).toBe(1);
  });
});
