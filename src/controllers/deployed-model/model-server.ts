// The model server's runtime adapter API, as vLLM serves it (VLLM_ALLOW_RUNTIME_LORA_UPDATING):
//   POST /v1/load_lora_adapter   {"lora_name", "lora_path"}  200 "Success: LoRA adapter '<n>' added successfully."
//                                400 {"error": {"message": "The lora adapter '<n>' has already been loaded.", …}}
//                                404 {"error": {"message": "Loading lora <n> failed: No adapter found for <path>", …}}
//                                400 other refusals (rank above --max-lora-rank, unreadable weights, …)
//   POST /v1/unload_lora_adapter {"lora_name"}              200, or 404 "The lora adapter '<n>' cannot be found."
//   GET  /v1/models              the base model and every loaded adapter (`parent` = the base)
// Replicas are reached at the address their EndpointSlice lists, through the process's Dialer
// (src/kube/dial.ts): the pod IP in production, a loopback fixture in a simulated fleet.
import type { Dialer } from '../../kube/dial.js';

export interface Replica {
  address: string;
  port: number;
}

export type LoadResult = { ok: true } | { ok: false; status: number; message: string };
export type UnloadResult = { ok: true } | { ok: false; status: number; message: string };

export interface AdapterApi {
  /** The adapters the server lists now (GET /v1/models, the entries with a parent). Throws when unreachable. */
  listAdapters(r: Replica, signal?: AbortSignal): Promise<Set<string>>;
  /** Loads `name` from `path`; "already loaded" counts as loaded. Throws when unreachable. */
  load(r: Replica, name: string, path: string, signal?: AbortSignal): Promise<LoadResult>;
  /** Unloads `name`; "cannot be found" counts as unloaded. Throws when unreachable. */
  unload(r: Replica, name: string, signal?: AbortSignal): Promise<UnloadResult>;
}

/** vLLM's `{"error": {"message": …}}` (or FastAPI's `{"detail": …}`), else the raw text. */
function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown }; message?: unknown; detail?: unknown };
    const m = body.error?.message ?? body.message ?? body.detail;
    if (typeof m === 'string') return m;
  } catch {
    // not JSON: the text itself
  }
  return text.slice(0, 1024);
}

export class HttpAdapterApi implements AdapterApi {
  constructor(
    private readonly dial: Dialer,
    private readonly timeoutMs = 30_000,
  ) {}

  #url(r: Replica, path: string): string {
    const t = this.dial(r.address, r.port);
    const host = t.host.includes(':') ? `[${t.host}]` : t.host;
    return `http://${host}:${t.port}${path}`;
  }

  #signal(signal: AbortSignal | undefined): AbortSignal {
    const t = AbortSignal.timeout(this.timeoutMs);
    return signal ? AbortSignal.any([signal, t]) : t;
  }

  async listAdapters(r: Replica, signal?: AbortSignal): Promise<Set<string>> {
    const res = await fetch(this.#url(r, '/v1/models'), { signal: this.#signal(signal) });
    const text = await res.text();
    if (!res.ok) throw new Error(`GET /v1/models answered ${res.status}: ${errorMessage(text)}`);
    const body = JSON.parse(text) as { data?: Array<{ id?: unknown; parent?: unknown }> };
    const out = new Set<string>();
    for (const m of body.data ?? []) if (typeof m.id === 'string' && typeof m.parent === 'string' && m.parent !== '') out.add(m.id);
    return out;
  }

  async #post(r: Replica, path: string, body: unknown, signal: AbortSignal | undefined): Promise<{ status: number; message: string }> {
    const res = await fetch(this.#url(r, path), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: this.#signal(signal),
    });
    const text = await res.text();
    return { status: res.status, message: res.ok ? text : errorMessage(text) };
  }

  async load(r: Replica, name: string, path: string, signal?: AbortSignal): Promise<LoadResult> {
    const { status, message } = await this.#post(r, '/v1/load_lora_adapter', { lora_name: name, lora_path: path }, signal);
    if (status === 200) return { ok: true };
    if (status === 400 && message.includes('has already been loaded')) return { ok: true };
    return { ok: false, status, message };
  }

  async unload(r: Replica, name: string, signal?: AbortSignal): Promise<UnloadResult> {
    const { status, message } = await this.#post(r, '/v1/unload_lora_adapter', { lora_name: name }, signal);
    if (status === 200 || status === 404) return { ok: true };
    return { ok: false, status, message };
  }
}
