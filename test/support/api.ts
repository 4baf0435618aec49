// Calling the REST facade in tests: app.inject with a Bearer key (or none), the body as JSON.
import type { FastifyInstance } from 'fastify';

export interface ApiResponse {
  status: number;
  body: Record<string, unknown>;
}

/** One request to `app` as the holder of `key` (undefined: no Authorization header), with its headers. */
export async function callApiWithHeaders(
  app: FastifyInstance,
  method: string,
  url: string,
  key: string | undefined,
  payload?: unknown,
): Promise<ApiResponse & { headers: Record<string, unknown> }> {
  const res = await app.inject({
    method: method as 'GET',
    url,
    headers: key !== undefined ? { authorization: `Bearer ${key}` } : {},
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {}, headers: res.headers };
}

/** Status and JSON body only (what most assertions compare whole). */
export async function callApi(app: FastifyInstance, method: string, url: string, key: string | undefined, payload?: unknown): Promise<ApiResponse> {
  const { status, body } = await callApiWithHeaders(app, method, url, key, payload);
  return { status, body };
}
