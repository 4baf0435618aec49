// The refusals that never reach the error handler — unknown routes, paths the router cannot decode,
// over-long path segments, what node's HTTP parser rejects — leave as google.rpc.Status naming what
// was wrong, like every other failure. Each case here was found by the REST fuzz
// (test/integration/api-fuzz.test.ts) answering fastify's or node's own body instead.
import { connect } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import errorsPlugin, { clientErrorHandler, frameworkErrors } from './errors.js';

let app: FastifyInstance;
let port = 0;

beforeAll(async () => {
  app = Fastify({ routerOptions: { maxParamLength: 500 }, frameworkErrors, clientErrorHandler });
  await app.register(errorsPlugin, { bodyLimit: 1024 });
  app.get('/a/:id', async (req) => ({ id: (req.params as { id: string }).id }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
});

afterAll(async () => {
  await app.close();
});

/** A raw HTTP/1.1 exchange: what node's parser sees, without a client that would refuse to send it. */
async function raw(request: string): Promise<{ status: number; headers: string; body: string }> {
  const socket = connect(port, '127.0.0.1');
  let data = '';
  socket.setEncoding('utf8').on('data', (d: string) => (data += d));
  await new Promise<void>((r) => socket.on('connect', r));
  socket.write(request);
  await new Promise<void>((r) => socket.on('close', () => r()));
  const [head = '', body = ''] = data.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), headers: head, body };
}

/** The code and the (one) field violation of an error body. */
function violation(body: string): { code: number; field?: string; reason?: string } {
  const parsed = JSON.parse(body) as { code: number; details: { fieldViolations?: { field: string; reason?: string }[] }[] };
  const v = parsed.details.flatMap((d) => d.fieldViolations ?? [])[0];
  return { code: parsed.code, ...(v ? { field: v.field, reason: v.reason } : {}) };
}

describe('refusals before a route', () => {
  it('an unknown route: 404 NOT_FOUND with the reason ERR_NO_SUCH_METHOD', async () => {
    const r = await app.inject({ method: 'POST', url: '/nope' });
    expect(r.statusCode).toBe(404);
    expect(JSON.parse(r.body)).toEqual({
      code: 5,
      message: 'no such method: POST /nope',
      details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ERR_NO_SUCH_METHOD', domain: 'hearth.dev', metadata: { method: 'POST' } }],
    });
  });

  it('a path that does not decode (bad escape, not UTF-8): 400 INVALID_ARGUMENT naming (path)', async () => {
    for (const url of ['/a/%C3%28', '/a/%ED%A0%80', '/a/%']) {
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(400);
      expect(violation(r.body), url).toEqual({ code: 3, field: '(path)', reason: 'BAD_URL' });
    }
  });

  it('a path segment longer than maxParamLength: 400 INVALID_ARGUMENT, not 414 with fastify’s body', async () => {
    const r = await app.inject({ method: 'GET', url: `/a/${'x'.repeat(600)}` });
    expect(r.statusCode).toBe(400);
    expect(violation(r.body)).toEqual({ code: 3, field: '(path)', reason: 'PATH_SEGMENT_TOO_LONG' });
  });

  it('a request line beyond the 16 KiB header limit: 400 INVALID_ARGUMENT naming (headers), not 431 with fastify’s body', async () => {
    const r = await raw(`GET /a/b?q=${'x'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(r.status).toBe(400);
    expect(r.headers).toContain('Content-Type: application/json');
    expect(violation(r.body)).toEqual({ code: 3, field: '(headers)', reason: 'HEADERS_TOO_LARGE' });
  });

  it('a request that is not HTTP: 400 INVALID_ARGUMENT', async () => {
    const r = await raw('NOT HTTP AT ALL\r\n\r\n');
    expect(r.status).toBe(400);
    expect(violation(r.body)).toEqual({ code: 3, field: '(request)', reason: 'MALFORMED_REQUEST' });
  });
});
