// API clients with a client-side rate limit (client-go's rest.Config QPS/Burst).
//
// Hook: every generated API class and KubernetesObjectApi send their requests through the
// Configuration's `httpApi` (an HttpLibrary). We build that Configuration ourselves (as
// KubeConfig.makeApiClient does) with an HttpLibrary that takes a token from one shared bucket
// before each request. The `httpApi` survives per-call option merges (mergeConfiguration keeps it
// unless a call passes its own), whereas a middleware would be dropped by the default 'replace'
// merge of per-call middleware — and client-node reverses its middleware array in place on every
// request. Watches do not go through httpApi: KubeClients.watch() takes a token before opening one.
import {
  ApiException,
  type Configuration,
  createConfiguration,
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  type KubeConfig,
  KubernetesObjectApi,
  ServerConfiguration,
  Watch,
  wrapHttpLibrary,
} from '@kubernetes/client-node';
import { realClock, type Clock } from '../util/clock.js';
import { TokenBucket } from '../util/rate-limiter.js';

export interface ClientSettings {
  /** Sustained requests per second to the API server (> 0). Default 20, as controller-runtime. */
  qps?: number;
  /** Requests allowed at once after a quiet period (>= 1). Default 30. */
  burst?: number;
}

export const DEFAULT_CLIENT_SETTINGS = { qps: 20, burst: 30 } as const;

type ApiConstructor<T> = new (config: Configuration) => T;

/**
 * Where a generated API client comes from: the process's KubeClients (rate-limited; what Hearth's
 * processes pass) or a bare KubeConfig (one-shot tools and tests).
 */
export type ApiSource = Pick<KubeClients, 'api'> | KubeConfig;

/** A generated API client from either source. */
export function apiClient<T>(source: ApiSource, type: ApiConstructor<T>): T {
  return 'makeApiClient' in source ? (source.makeApiClient(type as never) as T) : source.api(type);
}

/** KubernetesObjectApi whose default namespace follows the kubeconfig context, as makeApiClient sets it. */
class ObjectApi extends KubernetesObjectApi {
  static create(kc: KubeConfig, config: Configuration): KubernetesObjectApi {
    const api = new ObjectApi(config);
    api.setDefaultNamespace(kc);
    return api;
  }
}

/** One rate limit shared by every client made here: build one per process (or per controller manager). */
export class KubeClients {
  readonly limiter: TokenBucket;
  readonly #config: Configuration;
  readonly #watch: Watch;

  constructor(
    readonly kubeConfig: KubeConfig,
    settings: ClientSettings = {},
    clock: Clock = realClock,
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.limiter = new TokenBucket({ qps: settings.qps ?? DEFAULT_CLIENT_SETTINGS.qps, burst: settings.burst ?? DEFAULT_CLIENT_SETTINGS.burst }, clock);
    const inner = new IsomorphicFetchHttpLibrary();
    const limiter = this.limiter;
    this.#config = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kubeConfig },
      httpApi: wrapHttpLibrary({
        async send(ctx) {
          await limiter.wait();
          return inner.send(ctx).toPromise();
        },
      }),
    });
    this.#watch = new Watch(kubeConfig);
  }

  /** A generated API client (CoreV1Api, CoordinationV1Api, …) under the shared limit. */
  api<T>(type: ApiConstructor<T>): T {
    return new type(this.#config);
  }

  /** The generic object client (server-side apply, dynamic kinds) under the shared limit. */
  objects(): KubernetesObjectApi {
    return ObjectApi.create(this.kubeConfig, this.#config);
  }

  /**
   * GET `path` (absolute, e.g. /api/v1/configmaps) and return the parsed JSON as the server sent it
   * — no model classes, so timestamps stay strings just as they arrive on a watch. Non-2xx
   * responses throw ApiException with the status code and the parsed Status body.
   */
  async getJSON<R>(path: string, query: Record<string, string | undefined> = {}): Promise<R> {
    const ctx = this.#config.baseServer.makeRequestContext(path, HttpMethod.GET);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') ctx.setQueryParam(k, v);
    ctx.setHeaderParam('Accept', 'application/json');
    await this.kubeConfig.applySecurityAuthentication(ctx);
    const res = await this.#config.httpApi.send(ctx).toPromise();
    const text = await res.body.text();
    const body = parseJSON(text);
    if (res.httpStatusCode < 200 || res.httpStatusCode > 299) {
      const msg = (body as { message?: string } | undefined)?.message ?? text.slice(0, 200);
      throw new ApiException(res.httpStatusCode, `GET ${path}: ${res.httpStatusCode} ${msg}`, body, res.headers);
    }
    return body as R;
  }

  /** Opens a watch (client-node's Watch) after taking a token from the shared limiter. */
  async watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (type: string, obj: unknown) => void,
    onDone: (err: unknown) => void,
  ): Promise<AbortController> {
    await this.limiter.wait();
    return this.#watch.watch(path, query, onEvent, onDone);
  }
}

function parseJSON(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
