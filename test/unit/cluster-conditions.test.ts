// Bad conditions around the simulated cluster give clear messages and never leave a state that a
// later run would wrongly trust. No cluster, no Go toolchain and no database are needed here.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterError, clusterUp, ROOT } from '../../hack/lib/cluster.js';
import { fleetNodes, loadFleet } from '../../hack/lib/fleet.js';
import { ensurePostgres } from '../../hack/lib/postgres.js';

const temps: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'hearth-test-'));
  temps.push(d);
  return d;
}
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A stand-in `go` on PATH: answers `go env GOVERSION`; every build step runs the given body. */
function fakeGo(body: string): string {
  const dir = tempDir();
  const go = join(dir, 'go');
  writeFileSync(
    go,
    `#!/bin/bash
if [ "$1" = env ]; then echo go0.0-fake; exit 0; fi
${body}
`,
  );
  chmodSync(go, 0o755);
  return dir;
}

function buildBins(pathDirs: string, cache: string, only = 'etcd') {
  return spawnSync('bash', [join(ROOT, 'hack/build-bins.sh'), only], {
    env: { PATH: `${pathDirs}:/usr/bin:/bin`, HOME: cache, HEARTH_CACHE: cache },
    encoding: 'utf8',
  });
}

describe('hack/build-bins.sh', () => {
  it('says how to proceed when Go is missing', () => {
    const r = buildBins(tempDir(), tempDir());
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Go is not installed/);
    expect(r.stderr).toMatch(/KUBECONFIG/);
  });

  it('never caches a build that failed half-way, and rebuilds it on the next run', () => {
    const cache = tempDir();
    // The build writes one binary, then fails (as an interrupted or broken build would).
    const failing = fakeGo(`for a in "$@"; do case "$a" in */etcd) echo '#!/bin/sh' > "$a"; chmod +x "$a";; esac; done; [ "$1" = build ] && exit 1; exit 0`);
    const r1 = buildBins(failing, cache);
    expect(r1.status).not.toBe(0);
    expect(r1.stderr).toMatch(/building etcd-\S+ failed; nothing was cached/);
    expect(readdirSync(join(cache, 'parts'))).toEqual([]);

    // Next run: a working build is done from scratch and then reused.
    const working = fakeGo(`for a in "$@"; do case "$a" in */etcd) printf '#!/bin/sh\\necho etcd fake\\n' > "$a"; chmod +x "$a";; esac; done; exit 0`);
    const r2 = buildBins(working, cache);
    expect(r2.stderr).toMatch(/building etcd/);
    expect(r2.status).toBe(0);
    const bin = r2.stdout.trim().split('\n').pop()!;
    expect(existsSync(join(bin, 'etcd'))).toBe(true);
    const r3 = buildBins(working, cache);
    expect(r3.stderr).toMatch(/cached: etcd/);
  });

  it('rejects a build whose binary does not run', () => {
    const cache = tempDir();
    const broken = fakeGo(`for a in "$@"; do case "$a" in */etcd) printf '#!/bin/sh\\nexit 3\\n' > "$a"; chmod +x "$a";; esac; done; exit 0`);
    const r = buildBins(broken, cache);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/does not run/);
    expect(readdirSync(join(cache, 'parts'))).toEqual([]);
  });
});

describe('cluster:up', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('names the port when HEARTH_APISERVER_PORT is taken', async () => {
    const srv: Server = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const state = tempDir();
    try {
      delete process.env.KUBECONFIG;
      process.env.HEARTH_APISERVER_PORT = String(port);
      process.env.HEARTH_STATE_DIR = state; // empty: no running cluster to reuse
      await expect(clusterUp({ log: () => {} })).rejects.toThrow(new RegExp(`port ${port} \\(HEARTH_APISERVER_PORT\\) is already in use`));
    } finally {
      srv.close();
    }
  });

  it('says when KUBECONFIG names a cluster that does not answer', async () => {
    const dir = tempDir();
    const cfg = join(dir, 'kubeconfig');
    writeFileSync(
      cfg,
      `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
    );
    process.env.KUBECONFIG = cfg;
    const err = await clusterUp({ log: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterError);
    expect((err as Error).message).toMatch(/does not answer \/readyz/);
    expect((err as Error).message).toMatch(/unset KUBECONFIG/);
  });
});

describe('ensurePostgres', () => {
  it('explains what to do when PostgreSQL is unreachable, without printing the password', async () => {
    // Port 1 on loopback: nothing listens there, and no traffic leaves the machine.
    const err = await ensurePostgres('postgres://app:s3cret@127.0.0.1:1/db', () => {}, { startLocal: false }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/PostgreSQL is unreachable at postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/db: .*ECONNREFUSED/);
    expect((err as Error).message).toMatch(/DATABASE_URL/);
    expect((err as Error).message).not.toMatch(/s3cret/);
  });
});

describe('the fleet file', () => {
  it('covers every region and accelerator type of the catalog with labelled, tainted 8-GPU nodes', () => {
    const nodes = fleetNodes(loadFleet());
    const pairs = new Set(nodes.map((n) => `${n.metadata!.labels!['topology.kubernetes.io/region']}/${n.metadata!.labels!['hearth.dev/accelerator-type']}`));
    for (const p of [
      'US_ILLINOIS_2/NVIDIA_A100_80GB',
      'US_VIRGINIA_2/NVIDIA_H100_80GB',
      'US_VIRGINIA_2/AMD_MI300X_192GB',
      'EU_PARIS_1/NVIDIA_H200_141GB',
      'AP_TOKYO_1/NVIDIA_H100_80GB',
      'EU_FRANKFURT_1/NVIDIA_H100_80GB',
      'US_ILLINOIS_1/NVIDIA_H100_80GB',
      'US_IOWA_1/NVIDIA_H100_80GB',
      'US_VIRGINIA_1/NVIDIA_H100_80GB',
      'US_ARIZONA_1/NVIDIA_H100_80GB',
    ]) {
      expect(pairs).toContain(p);
    }
    for (const n of nodes) {
      const amd = n.metadata!.labels!['hearth.dev/accelerator-type']!.startsWith('AMD');
      const resource = amd ? 'amd.com/gpu' : 'nvidia.com/gpu';
      expect(n.status!.allocatable![resource]).toBe('8');
      expect(n.spec!.taints).toEqual([{ key: resource, value: 'present', effect: 'NoSchedule' }]);
    }
  });

  it('rejects a pool with an undeclared accelerator type, naming the field', () => {
    const f = join(tempDir(), 'fleet.yaml');
    writeFileSync(f, 'gpusPerNode: 8\nacceleratorTypes: {}\npools: [{region: US_IOWA_1, acceleratorType: NVIDIA_B200, nodes: 1}]\n');
    expect(() => loadFleet(f)).toThrow(/pools\.0\.acceleratorType: unknown accelerator type NVIDIA_B200/);
  });
});
