import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactSignedUrl } from './log.js';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, stream };
}

describe('the logger', () => {
  it('keeps credentials out: the Authorization header and keys', () => {
    const { lines, stream } = capture();
    createLogger({ destination: stream }).info({ req: { headers: { authorization: 'Bearer hearth_secret' } }, apiKey: { key: 'hearth_secret' } }, 'x');
    expect(lines.join('')).not.toContain('hearth_secret');
  });

  it('cuts the signature out of a logged signed URL and keeps its path', () => {
    const { lines, stream } = capture();
    const url = '/v1-files/datasets/acme/d1/train.jsonl?size=10&expires=1767225600&signature=c2VjcmV0LXNpZw';
    createLogger({ destination: stream }).info({ req: { method: 'PUT', url } }, 'incoming request');
    const line = lines.join('');
    expect(line).not.toContain('c2VjcmV0LXNpZw');
    expect(line).toContain('/v1-files/datasets/acme/d1/train.jsonl?size=10&expires=1767225600&signature=[redacted]');
  });

  it.each([
    ['https://s3.example/b/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc', 'https://s3.example/b/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]'],
    ['/v1/accounts/acme/deployments?pageSize=5', '/v1/accounts/acme/deployments?pageSize=5'],
    ['/x?a=1&token=t#frag', '/x?a=1&token=[redacted]#frag'],
  ])('redactSignedUrl(%s)', (url, want) => {
    expect(redactSignedUrl(url)).toBe(want);
  });
});
