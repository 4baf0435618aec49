import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Called on timeout; its result is appended to the error so a failure shows the state. */
  dump?: () => Promise<unknown>;
}

/**
 * Polls `probe` until it returns a value other than undefined/false, or fails after an explicit
 * timeout with a description of what it waited for and a dump of the state.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, opts: WaitOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
  let dump = '';
  if (opts.dump) {
    try {
      dump = `\n--- state ---\n${JSON.stringify(await opts.dump(), null, 2)}`;
    } catch (e) {
      dump = `\n(dump failed: ${String(e)})`;
    }
  }
  const last = lastError ? `\nlast error: ${String(lastError)}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}${dump}`);
}

/** Pods and events of a namespace, compact enough to read in a failure message. */
export async function dumpNamespace(kc: KubeConfig, namespace: string): Promise<unknown> {
  const core = kc.makeApiClient(CoreV1Api);
  const [pods, events] = await Promise.all([core.listNamespacedPod({ namespace }), core.listNamespacedEvent({ namespace })]);
  return {
    pods: pods.items.map((p) => ({
      name: p.metadata?.name,
      node: p.spec?.nodeName,
      phase: p.status?.phase,
      conditions: p.status?.conditions?.map((c) => `${c.type}=${c.status} ${c.reason ?? ''} ${c.message ?? ''}`),
    })),
    events: events.items.map((e) => `${e.involvedObject.kind}/${e.involvedObject.name} ${e.reason}: ${e.message}`),
  };
}
