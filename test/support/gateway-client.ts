// Calling the gateway in tests: a real HTTP POST with a Bearer key, the reply as text (the gateway
// is a real listener, not a Fastify app to inject into), and the OpenAI chat call most tests make.
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:http';

export interface GatewayReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** How many chunks the body arrived in (a streamed reply arrives in more than one). */
  reads: number;
}

/** POST `body` as JSON to `path` on `base`, as the holder of `apiKey`. */
export function postJson(base: string, path: string, body: unknown, apiKey: string, signal?: AbortSignal): Promise<GatewayReply> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` };
    const req = request(new URL(path, base), { method: 'POST', headers, ...(signal ? { signal } : {}) }, (res) => {
      let text = '';
      let reads = 0;
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        reads++;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, reads }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** One chat completion through the gateway: `content` as the user's message, `maxTokens` to generate. */
export function chat(base: string, apiKey: string, model: string, content = 'hello', maxTokens = 4): Promise<GatewayReply> {
  return postJson(base, '/inference/v1/chat/completions', { model, messages: [{ role: 'user', content }], max_tokens: maxTokens }, apiKey);
}
