// The hot path: one request to one model-server replica over undici's keep-alive pools, the
// response streamed back as it arrives (SSE chunk by chunk, JSON without buffering), the token
// usage read on the way for the load signal.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { SseUsageTap, type Usage } from './sse.js';

/** Response headers that describe one hop, not the message (RFC 9110 §7.6.1), plus ones we set. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'te', 'trailer', 'upgrade', 'date', 'server', 'x-request-id']);
/**
 * A non-streamed (JSON) answer up to this size is relayed in one write when it is complete — the
 * client cannot use half a JSON document, and one write (headers and body together) instead of
 * several is the largest single saving on the hot path — and parsed for usage. Larger answers are
 * streamed on as they come and not parsed. SSE is never held.
 */
const MAX_HELD_BODY_BYTES = 1 << 20;

export interface ProxyTarget {
  host: string;
  port: number;
}

export interface ProxyOptions {
  /** undici Agent (a keep-alive pool per upstream origin). */
  agent: Dispatcher;
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
  /**
   * An adapter request: a 404 means this replica does not have the adapter (a server that restarted
   * in place since the controller last looked); it is not relayed, so another replica can serve it.
   */
  adapter?: boolean;
}

export type ProxyOutcome =
  /** The upstream answered (any status) and the answer was relayed in full. */
  | 'completed'
  /** Nothing reached the model server (refused, or a stale keep-alive socket): safe to retry elsewhere. */
  | 'not_sent'
  /** The upstream failed or timed out; the client got a 502/504 or a cut stream. */
  | 'upstream_failed'
  /** The client went away; the upstream request was aborted. */
  | 'client_gone'
  /** An adapter request the replica answered 404 (it lacks the adapter); nothing was relayed. */
  | 'adapter_missing';

export interface ProxyResult {
  outcome: ProxyOutcome;
  status: number;
  usage?: Usage;
  /** When the first response byte was relayed to the client (performance.now()), if any. */
  firstByteAt?: number;
}

function copyHeaders(headers: IncomingHttpHeaders, streamed: boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || (streamed && k === 'content-length')) continue;
    out[k] = v;
  }
  return out;
}

function parseUsage(body: Buffer): Usage | undefined {
  try {
    const obj = JSON.parse(body.toString('utf8')) as { usage?: Usage | null };
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
    let controller: Dispatcher.DispatchController | undefined;
    let tap: SseUsageTap | undefined;
    let holding = false;
    let missing = false;
    let held = 0;
    let chunks: Buffer[] = [];
    const finish = (outcome: ProxyOutcome, usage?: Usage): void => {
      if (settled) return;
      settled = true;
      res.off('close', onClientClose);
      resolve({ outcome, status, ...(usage ? { usage } : {}), ...(firstByteAt !== undefined ? { firstByteAt } : {}) });
    };
    const onClientClose = (): void => {
      if (res.writableFinished) return;
      controller?.abort(new Error('client went away'));
      finish('client_gone');
    };
    res.on('close', onClientClose);
    const send = (out: Buffer): void => {
      if (out.length === 0) return;
      firstByteAt ??= performance.now();
      if (!res.write(out) && controller && !controller.paused) {
        const c = controller;
        c.pause();
        res.once('drain', () => c.resume());
      }
    };
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (settled) c.abort(new Error('client went away'));
      },
      onResponseStart(_c, statusCode, headers) {
        status = statusCode;
        if (o.adapter === true && statusCode === 404) return void (missing = true);
        const type = String(headers['content-type'] ?? '');
        const streamed = type.startsWith('text/event-stream');
        tap = streamed ? new SseUsageTap(o.stripUsage) : undefined;
        holding = !streamed;
        res.writeHead(statusCode, copyHeaders(headers, streamed));
      },
      onResponseData(_c, chunk) {
        if (settled || missing) return;
        if (holding) {
          chunks.push(chunk);
          held += chunk.length;
          if (held <= MAX_HELD_BODY_BYTES) return;
          holding = false;
          const all = Buffer.concat(chunks);
          chunks = [];
          return send(all);
        }
        send(tap ? tap.push(chunk) : chunk);
      },
      onResponseEnd() {
        if (settled) return;
        if (missing) return finish('adapter_missing');
        if (tap) {
          send(tap.end());
          res.end();
          return finish('completed', tap.usage);
        }
        if (!holding) {
          res.end();
          return finish('completed');
        }
        const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        if (body.length > 0) firstByteAt ??= performance.now();
        res.end(body);
        finish('completed', status === 200 ? parseUsage(body) : undefined);
      },
      onResponseError(_c, err: Error & { code?: string }) {
        if (settled) return;
        if (missing) return finish('adapter_missing');
        if (status === 0) {
          // Refused: the model server never saw the request.
          if (err.code === 'ECONNREFUSED') return finish('not_sent');
          status = err.code === 'UND_ERR_HEADERS_TIMEOUT' || err.code === 'UND_ERR_CONNECT_TIMEOUT' ? 504 : 502;
          if (!res.headersSent) sendUpstreamError(res, status);
          return finish('upstream_failed');
        }
        res.destroy();
        finish('upstream_failed');
      },
    };
    o.agent.dispatch(
      {
        origin: `http://${o.target.host.includes(':') ? `[${o.target.host}]` : o.target.host}:${o.target.port}`,
        path: o.path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': o.requestId },
        body: o.body,
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
      },
      handler,
    );
  });
}

function sendUpstreamError(res: ServerResponse, status: number): void {
  const message = status === 504 ? 'the model server did not answer in time' : 'the model server could not be reached';
  const text = JSON.stringify({ error: { object: 'error', type: status === 504 ? 'timeout' : 'bad_gateway', code: status === 504 ? 'GATEWAY_TIMEOUT' : 'BAD_GATEWAY', message } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
