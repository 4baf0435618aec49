// How a process reaches a replica's model server. In production: the address the EndpointSlice
// lists for the pod (`<pod IP>:<port>`), dialled as is — the gateway for inference, the
// DeployedModel controller for the adapter API. That is the code path every test exercises.
//
// SIMULATION ONLY: a simulated (KWOK) fleet has no pod network, so its pod IPs lead nowhere. A
// `SimulatedDialMap` replaces the connect address, and nothing else, per endpoint: `<pod IP>:<port>`
// → a loopback `host:port` where a test or the demo runs one model-server fixture per pod.
// Discovery, readiness and the choice of replica stay Hearth's; only the socket's destination
// changes. Targets outside loopback are refused, so the map can never send traffic off the machine.
// The map comes from configuration (`HEARTH_SIMULATED_DIAL_MAP_FILE`, a JSON object re-read when
// it changes) or, in tests that run Hearth in-process, is filled directly.
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { BlockList, isIP } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
}

/** Where to connect for a replica listed at `address:port`. */
export type Dialer = (address: string, port: number) => HostPort;

/** Production: the pod's own address. */
export const directDialer: Dialer = (address, port) => ({ host: address, port });

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * `<host>:<port>` or `[<ipv6>]:<port>` with a loopback host (127.0.0.0/8, ::1, localhost) and a
 * port 1–65535; anything else: undefined.
 */
export function parseLoopbackHostPort(raw: string): HostPort | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(raw) ?? /^([^:[\]]+):(\d{1,5})$/.exec(raw);
  if (!m) return undefined;
  const [, host = '', portText = ''] = m;
  const port = Number(portText);
  if (port < 1 || port > 65_535) return undefined;
  const family = isIP(host);
  const loopback = family === 0 ? host.toLowerCase() === 'localhost' : LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
  return loopback ? { host, port } : undefined;
}

/** The key of an endpoint in the map: `address:port`, as the gateway's endpoint ids. */
export const endpointKey = (address: string, port: number): string => `${address}:${port}`;

/**
 * SIMULATION ONLY: pod endpoint → loopback target. An endpoint without an entry goes to `fallback`
 * (the demo's single shared fixture, HEARTH_GATEWAY_SIMULATED_UPSTREAM) if given, else to itself.
 */
export class SimulatedDialMap {
  readonly #map = new Map<string, HostPort>();
  #stopWatching: (() => void) | undefined;

  constructor(private readonly fallback?: HostPort) {}

  /** Points `podAddress` (`<pod IP>:<port>`) at a loopback `host:port`; throws for anything else. */
  set(podAddress: string, target: string): void {
    const t = parseLoopbackHostPort(target);
    if (!t) throw new Error(`simulated dial map: ${podAddress} → ${target}: the target must be a loopback host:port`);
    this.#map.set(podAddress, t);
  }

  delete(podAddress: string): void {
    this.#map.delete(podAddress);
  }

  /** Replaces every entry (all validated first: a bad file changes nothing). */
  replaceAll(entries: Record<string, string>): void {
    const next = new Map<string, HostPort>();
    for (const [from, to] of Object.entries(entries)) {
      const t = parseLoopbackHostPort(to);
      if (!t) throw new Error(`simulated dial map: ${from} → ${to}: the target must be a loopback host:port`);
      next.set(from, t);
    }
    this.#map.clear();
    for (const [k, v] of next) this.#map.set(k, v);
  }

  entries(): Record<string, string> {
    return Object.fromEntries([...this.#map].map(([k, v]) => [k, `${v.host}:${v.port}`]));
  }

  readonly dial: Dialer = (address, port) => {
    const t = this.#map.get(endpointKey(address, port)) ?? this.fallback;
    return t ? { ...t } : { host: address, port };
  };

  /**
   * Loads `path` (a JSON object `{"<pod IP>:<port>": "127.0.0.1:<port>"}`) now and again whenever it
   * changes (polled every `intervalMs`). A file that does not parse or validate keeps the last map
   * and is reported through `onError`.
   */
  watchFile(path: string, onError: (err: unknown) => void, intervalMs = 250): void {
    const load = (): void => {
      try {
        const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${path}: not a JSON object`);
        this.replaceAll(parsed as Record<string, string>);
      } catch (e) {
        onError(e);
      }
    };
    load();
    const listener = (): void => load();
    watchFile(path, { interval: intervalMs, persistent: false }, listener);
    this.#stopWatching = () => unwatchFile(path, listener);
  }

  close(): void {
    this.#stopWatching?.();
    this.#stopWatching = undefined;
  }
}
