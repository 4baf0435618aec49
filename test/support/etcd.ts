// The simulated cluster's etcd, for tests that compact it (watches resuming from a compacted
// resourceVersion get 410 Gone). Found from HEARTH_ETCD_ENDPOINT, else from the running etcd
// process of the cluster whose kubeconfig the tests use (its --advertise-client-urls). Compaction
// goes through etcd's HTTP/JSON gateway (/v3/kv/range for the revision, /v3/kv/compaction), so no
// etcdctl is needed.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

function etcdProcesses(): string[][] {
  if (!existsSync('/proc')) return [];
  const out: string[][] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (argv[0] && /(^|\/)etcd$/.test(argv[0])) out.push(argv);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

function flag(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${name}`) return argv[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

/** The etcd client URL of the cluster of `kubeconfig`, or undefined when none is found. */
export async function etcdEndpoint(kubeconfig: string): Promise<string | undefined> {
  const fromEnv = process.env.HEARTH_ETCD_ENDPOINT;
  const candidates = fromEnv ? [fromEnv] : [];
  const stateDir = resolve(dirname(kubeconfig));
  const procs = etcdProcesses();
  // The cluster's own etcd first: its data directory is under the kubeconfig's directory.
  procs.sort((a, b) => Number(b.join(' ').includes(stateDir)) - Number(a.join(' ').includes(stateDir)));
  for (const argv of procs) {
    const urls = flag(argv, 'advertise-client-urls') ?? flag(argv, 'listen-client-urls');
    for (const u of urls?.split(',') ?? []) if (u.startsWith('http://')) candidates.push(u);
  }
  for (const c of candidates) {
    try {
      await currentRevision(c);
      return c.replace(/\/$/, '');
    } catch {
      // not reachable over plain HTTP (TLS, gone): try the next
    }
  }
  return undefined;
}

async function post(endpoint: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(`${endpoint.replace(/\/$/, '')}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(10_000) });
  const text = await r.text();
  if (!r.ok) throw new Error(`etcd ${path}: ${r.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

export async function currentRevision(endpoint: string): Promise<number> {
  const r = await post(endpoint, '/v3/kv/range', { key: Buffer.from('/').toString('base64'), limit: 1 });
  return Number((r.header as { revision?: string }).revision);
}

/** Compacts etcd at its current revision (physically): every older resourceVersion is gone. */
export async function compactEtcd(endpoint: string): Promise<number> {
  const revision = await currentRevision(endpoint);
  await post(endpoint, '/v3/kv/compaction', { revision: String(revision), physical: true });
  return revision;
}
