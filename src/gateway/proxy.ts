// The hot path: one request to one model-server replica over a keep-alive node:http Agent, the
// response streamed back as it arrives (SSE chunk by chunk, JSON without buffering), the token
// usage read on the way for the load signal.
import { request, type Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { SseUsageTap, type Usage } from './sse.js';

/** Response headers that describe one hop, not the message (RFC 9110 §7.6.1), plus ones we set. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'te', 'trailer', 'upgrade', 'date', 'server']);
/** Non-streamed bodies larger than this are still forwarded, but not parsed for usage. */
const MAX_USAGE_SCAN_BYTES = 1 << 20;

export interface ProxyTarget {
  host: string;
  port: number;
}

export interface ProxyOptions {
  agent: Agent;
  target: ProxyTarget;
  /** Upstream path, e.g. `/v1/chat/completions`. */
  path: string;
  body: Buffer;
  /** Remove the usage-only SSE chunk (the gateway asked for it, the client did not). */
  stripUsage: boolean;
  /** Idle time on the upstream socket before giving up (504 if nothing was sent yet). */
  timeoutMs: number;
  requestId: string;
  res: ServerResponse;
}

export type ProxyOutcome =
  /** The upstream answered (any status) and the answer was relayed in full. */
  | 'completed'
  /** Nothing reached the model server (refused, or a stale keep-alive socket): safe to retry elsewhere. */
  | 'not_sent'
  /** The upstream failed or timed out; the client got a 502/504 or a cut stream. */
  | 'upstream_failed'
  /** The client went away; the upstream request was aborted. */
  | 'client_gone';

export interface ProxyResult {
  outcome: ProxyOutcome;
  status: number;
  usage?: Usage;
  /** When the first response byte was relayed to the client (performance.now()), if any. */
  firstByteAt?: number;
}

function copyHeaders(up: IncomingMessage, streamed: boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(up.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || (streamed && k === 'content-length')) continue;
    out[k] = v;
  }
  return out;
}

function parseUsage(chunks: Buffer[]): Usage | undefined {
  try {
    const obj = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { usage?: Usage | null };
    return obj.usage ?? undefined;
  } catch {
    return undefined;
  }
}

export function proxyRequest(o: ProxyOptions): Promise<ProxyResult> {
  const { res } = o;
  return new Promise<ProxyResult>((resolve) => {
    let settled = false;
    let status = 0;
    let firstByteAt: number | undefined;
    const finish = (outcome: ProxyOutcome, usage?: Usage): void => {
      if (settled) return;
      settled = true;
      res.off('close', onClientClose);
      resolve({ outcome, status, ...(usage ? { usage } : {}), ...(firstByteAt !== undefined ? { firstByteAt } : {}) });
    };
    const up = request({
      host: o.target.host,
      port: o.target.port,
      method: 'POST',
      path: o.path,
      agent: o.agent,
      headers: { 'content-type': 'application/json', 'content-length': o.body.length, 'x-request-id': o.requestId },
    });
    const onClientClose = (): void => {
      if (res.writableFinished) return;
      up.destroy();
      finish('client_gone');
    };
    res.on('close', onClientClose);
    up.setTimeout(o.timeoutMs, () => up.destroy(Object.assign(new Error('upstream timed out'), { code: 'ETIMEDOUT' })));
    up.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      if (status === 0) {
        // Nothing received. Refused, or a reused keep-alive socket the server had closed: the
        // model server never saw the request.
        if (err.code === 'ECONNREFUSED' || (up.reusedSocket && err.code === 'ECONNRESET')) return finish('not_sent');
        status = err.code === 'ETIMEDOUT' ? 504 : 502;
        if (!res.headersSent) sendUpstreamError(res, status);
        return finish('upstream_failed');
      }
      res.destroy();
      finish('upstream_failed');
    });
    up.on('response', (ur) => relay(ur));
    up.end(o.body);

    function relay(ur: IncomingMessage): void {
      status = ur.statusCode ?? 502;
      const streamed = (ur.headers['content-type'] ?? '').startsWith('text/event-stream');
      res.writeHead(status, copyHeaders(ur, streamed));
      const tap = streamed ? new SseUsageTap(o.stripUsage) : undefined;
      const scan = !streamed && status === 200 && (ur.headers['content-type'] ?? '').includes('json');
      const chunks: Buffer[] = [];
      let scanned = 0;
      ur.on('data', (c: Buffer) => {
        const out = tap ? tap.push(c) : c;
        if (scan && scanned <= MAX_USAGE_SCAN_BYTES) {
          chunks.push(c);
          scanned += c.length;
        }
        if (out.length === 0) return;
        firstByteAt ??= performance.now();
        if (!res.write(out)) {
          ur.pause();
          res.once('drain', () => ur.resume());
        }
      });
      ur.on('end', () => {
        const rest = tap?.end();
        if (rest && rest.length) res.write(rest);
        res.end();
        finish('completed', tap ? tap.usage : scan && scanned <= MAX_USAGE_SCAN_BYTES ? parseUsage(chunks) : undefined);
      });
      ur.on('error', () => {
        res.destroy();
        finish('upstream_failed');
      });
    }
  });
}

function sendUpstreamError(res: ServerResponse, status: number): void {
  const message = status === 504 ? 'the model server did not answer in time' : 'the model server could not be reached';
  const text = JSON.stringify({ error: { object: 'error', type: status === 504 ? 'timeout' : 'bad_gateway', code: status === 504 ? 'GATEWAY_TIMEOUT' : 'BAD_GATEWAY', message } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
