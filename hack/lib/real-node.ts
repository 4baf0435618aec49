// One real node beside the KWOK fleet (issue 18 item 1): containerd, runc and a kubelet built from
// Go modules (hack/build-bins.sh node), CNI bridge networking in network namespaces containerd
// creates, registered as a CPU node with its own labels and a NoSchedule taint so that nothing
// lands there without asking. Everything it makes lives under <state dir>/node (processes find it
// by that path in their command line) or is named here (the bridge, the cgroup root), so stopping
// it can check that no process, mount, namespace, link or cgroup is left.
//
// The pod network: a Linux bridge `hearth0` holding the node's address (10.244.0.1 by default),
// each pod a veth into it with an address of the pod CIDR. No masquerading and no default route
// out: pods reach the host and each other, and the host reaches pods at their pod IPs.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { ApiException, CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { ClusterError, ROOT, kubeConfigFrom, run, stateDir, type Log } from './cluster.js';
import { baseImages, PAUSE_IMAGE } from './node-images.js';

/** The real node's name; hack/kwok/stages.yaml leaves this node and its pods to the kubelet. */
export const REAL_NODE_NAME = 'hearth-real-node';
export const REAL_NODE_LABEL = 'hearth.dev/real-node';
export const NODE_KIND_LABEL = 'hearth.dev/node-kind';
/** The taint a pod must tolerate to run on the real node (`hearth.dev/real-node=true:NoSchedule`). */
export const REAL_NODE_TAINT = { key: REAL_NODE_LABEL, value: 'true', effect: 'NoSchedule' } as const;
export const REAL_NODE_TOLERATION = { key: REAL_NODE_LABEL, operator: 'Equal', value: 'true', effect: 'NoSchedule' } as const;
export const BRIDGE = 'hearth0';
export const CGROUP_ROOT = 'hearth-node';
const KUBELET_PORT = 10250;
/**
 * The bridge, the cgroup root, the node name and the node address are the machine's, so one real
 * node runs per machine: this file (tmpfs, gone at reboot) names the state directory that owns it.
 */
export const OWNER_FILE = '/run/hearth-real-node.owner';
/**
 * The API server reaches a kubelet (logs, exec) at the node's Hostname address first, which is the
 * node name: this /etc/hosts line, added at start and removed at stop, resolves it to the node's
 * address without asking any DNS server.
 */
const HOSTS_FILE = '/etc/hosts';
const HOSTS_MARK = '# hearth real node (hack/lib/real-node.ts)';

function hostsEntries(): string[] {
  try {
    return readFileSync(HOSTS_FILE, 'utf8').split('\n').filter((l) => l.endsWith(HOSTS_MARK));
  } catch {
    return [];
  }
}

function setHostsEntry(ip: string | undefined): void {
  const lines = readFileSync(HOSTS_FILE, 'utf8').replace(/\n$/, '').split('\n').filter((l) => !l.endsWith(HOSTS_MARK));
  if (ip) lines.push(`${ip} ${REAL_NODE_NAME} ${HOSTS_MARK}`);
  writeFileSync(HOSTS_FILE, `${lines.join('\n')}\n`); // in place: /etc/hosts may be a bind mount
}

const defaultLog: Log = (m) => process.stderr.write(`[real-node] ${m}\n`);

export interface RealNodeOptions {
  /** The cluster the node joins. */
  kubeconfig: string;
  /** Where the node keeps its state; default <state dir>/node. */
  dir?: string;
  /** The pod network, a /24 (default 10.244.0.0/24); its .1 is the bridge and the node's address. */
  podCidr?: string;
  log?: Log;
}

export interface RealNode {
  name: string;
  dir: string;
  nodeIp: string;
  podCidr: string;
  /** containerd's socket, for `ctr -a` (images are in the k8s.io namespace). */
  containerdSocket: string;
  binDir: string;
  /** Seconds from start to the Node being Ready (binaries and images already cached). */
  startSeconds: number;
}

export function realNodeDir(): string {
  return process.env.HEARTH_REAL_NODE_DIR ?? join(stateDir(), 'node');
}

/** The state directory of the real node running on this machine, if one runs (its kubelet or containerd is alive). */
export function runningRealNodeOwner(): string | undefined {
  if (!existsSync(OWNER_FILE)) return undefined;
  const owner = readFileSync(OWNER_FILE, 'utf8').trim();
  return owner && processesUnder(owner).length > 0 ? owner : undefined;
}

function podNetwork(cidr: string): { cidr: string; gateway: string } {
  const m = /^(\d+)\.(\d+)\.(\d+)\.0\/24$/.exec(cidr);
  if (!m) throw new ClusterError(`HEARTH_REAL_NODE_POD_CIDR must be a /24 ending in .0 (e.g. 10.244.0.0/24), got "${cidr}"`);
  return { cidr, gateway: `${m[1]}.${m[2]}.${m[3]}.1` };
}

/**
 * Whether this machine can host the real node, and if not why: it needs Linux, root (containers,
 * mounts, network namespaces, cgroups), the ability to create namespaces, and `ip`. HEARTH_REAL_NODE=0
 * turns it off.
 */
export function realNodeSupport(): { ok: true } | { ok: false; reason: string } {
  if (process.env.HEARTH_REAL_NODE === '0') return { ok: false, reason: 'HEARTH_REAL_NODE=0' };
  if (process.platform !== 'linux') return { ok: false, reason: `it needs Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'it needs root (containers, mounts, network namespaces and cgroups)' };
  const probe = spawnSync('unshare', ['--net', '--mount', '--pid', '--fork', 'true'], { stdio: 'ignore' });
  if (probe.status !== 0) return { ok: false, reason: 'this machine does not allow new namespaces (`unshare --net --mount --pid true` failed)' };
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return { ok: false, reason: 'the `ip` command (iproute2) is missing' };
  if (!existsSync('/sys/fs/cgroup')) return { ok: false, reason: 'no cgroup filesystem at /sys/fs/cgroup' };
  return { ok: true };
}

/** Builds (or finds cached) kubelet, containerd, runc and the CNI plugins; returns their directory. */
export async function ensureNodeBinaries(log: Log = defaultLog): Promise<string> {
  log('checking the real node binaries (kubelet, containerd, runc, CNI; built from Go modules on first use) ...');
  const out = await run('bash', [join(ROOT, 'hack/build-bins.sh'), 'node'], { inheritStderr: true });
  const bin = out.trim().split('\n').pop() ?? '';
  for (const b of ['kubelet', 'containerd', 'containerd-shim-runc-v2', 'ctr', 'runc', 'bridge', 'host-local', 'loopback']) {
    if (!existsSync(join(bin, b))) throw new ClusterError(`build-bins.sh node gave no ${b} in "${bin}"`);
  }
  return bin;
}

interface Paths {
  dir: string;
  containerdConfig: string;
  containerdRoot: string;
  containerdState: string;
  socket: string;
  runcRoot: string;
  cniConf: string;
  cniIpam: string;
  kubeletRoot: string;
  kubeletConfig: string;
  kubeletKubeconfig: string;
  podLogs: string;
  pki: string;
  logs: string;
  forwardMarker: string;
  runContainerdMarker: string;
}

function paths(dir: string): Paths {
  return {
    dir,
    containerdConfig: join(dir, 'containerd', 'config.toml'),
    // The image store survives a stop (imported images are reused); everything else does not.
    containerdRoot: join(dir, 'containerd', 'root'),
    containerdState: join(dir, 'run', 'containerd'),
    socket: join(dir, 'run', 'containerd.sock'),
    runcRoot: join(dir, 'run', 'runc'),
    cniConf: join(dir, 'cni', 'net.d'),
    cniIpam: join(dir, 'run', 'cni-ipam'),
    kubeletRoot: join(dir, 'run', 'kubelet'),
    kubeletConfig: join(dir, 'kubelet', 'config.yaml'),
    kubeletKubeconfig: join(dir, 'kubelet', 'kubeconfig'),
    podLogs: join(dir, 'run', 'pod-logs'),
    pki: join(dir, 'kubelet', 'pki'),
    logs: join(dir, 'logs'),
    forwardMarker: join(dir, 'ip_forward.before'),
    runContainerdMarker: join(dir, 'created-run-containerd'),
  };
}

function containerdConfig(p: Paths, bin: string, snapshotter: string): string {
  const q = (s: string) => JSON.stringify(s);
  return `# Written by hack/lib/real-node.ts: a containerd for the real node, all state under ${p.dir}.
version = 3
root = ${q(p.containerdRoot)}
state = ${q(p.containerdState)}
disabled_plugins = [
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs", "io.containerd.differ.v1.erofs",
  "io.containerd.internal.v1.opt", "io.containerd.nri.v1.nri", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing", "io.containerd.grpc.v1.introspection.restart"
]

[grpc]
  address = ${q(p.socket)}

[ttrpc]
  address = ${q(p.socket + '.ttrpc')}

[debug]
  address = ""

[metrics]
  address = ""

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = ${q(snapshotter)}
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = ${q(PAUSE_IMAGE)}

  [plugins.'io.containerd.cri.v1.runtime']
    enable_selinux = false
    netns_mounts_under_state_dir = true
    # Root here may lack CAP_SYS_RESOURCE (this machine's does): no container gets an oom_score_adj
    # below containerd's own, which is what runc could not write otherwise.
    restrict_oom_score_adj = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = "runc"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = ${q(join(bin, 'runc'))}
          Root = ${q(p.runcRoot)}
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = [${q(bin)}]
      conf_dir = ${q(p.cniConf)}
      max_conf_num = 1

  [plugins.'io.containerd.grpc.v1.cri']
    disable_tcp_service = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
`;
}

function cniConfig(p: Paths, net: { cidr: string; gateway: string }): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'hearth',
      plugins: [
        {
          type: 'bridge',
          bridge: BRIDGE,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: net.cidr, gateway: net.gateway }]], dataDir: p.cniIpam },
        },
      ],
    },
    null,
    2,
  );
}

function kubeletConfig(p: Paths, nodeIp: string): string {
  // YAML is JSON: written as JSON so nothing needs quoting rules.
  return JSON.stringify(
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      // The API server of the simulated cluster presents no client certificate to kubelets (kwokctl
      // sets no --kubelet-client-certificate), so logs/exec arrive anonymous: allowed, and the
      // kubelet listens only on the bridge's address, which only this machine reaches.
      address: nodeIp,
      port: KUBELET_PORT,
      readOnlyPort: 0,
      healthzPort: 0,
      authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
      authorization: { mode: 'AlwaysAllow' },
      cgroupDriver: 'cgroupfs',
      cgroupRoot: `/${CGROUP_ROOT}`,
      cgroupsPerQOS: true,
      enforceNodeAllocatable: [],
      failCgroupV1: false,
      failSwapOn: false,
      containerRuntimeEndpoint: `unix://${p.socket}`,
      imageServiceEndpoint: `unix://${p.socket}`,
      podLogsDir: p.podLogs,
      resolvConf: '/etc/resolv.conf',
      registerNode: true,
      registerWithTaints: [REAL_NODE_TAINT],
      maxPods: 50,
      evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
      imageGCHighThresholdPercent: 99,
      imageGCLowThresholdPercent: 98,
      serializeImagePulls: false,
      localStorageCapacityIsolation: false,
      rotateCertificates: false,
      serverTLSBootstrap: false,
      nodeStatusReportFrequency: '10s',
      shutdownGracePeriod: '0s',
      // The host's hybrid cgroup layout has no hugetlb hierarchy mounted.
      systemReserved: {},
      kubeReserved: {},
    },
    null,
    2,
  );
}

/** Node client credentials: a certificate for system:node:<name> signed by the cluster CA when its key is at hand. */
async function kubeletKubeconfig(kc: KubeConfig, clusterKubeconfig: string, p: Paths, log: Log): Promise<string> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new ClusterError(`${clusterKubeconfig} has no current cluster`);
  const caPem = cluster.caData ? Buffer.from(cluster.caData, 'base64').toString() : cluster.caFile ? readFileSync(cluster.caFile, 'utf8') : '';
  const pkiDir = join(dirname(clusterKubeconfig), 'kwok', 'clusters', 'hearth', 'pki');
  mkdirSync(p.pki, { recursive: true });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  let user: Record<string, string>;
  if (existsSync(join(pkiDir, 'ca.key')) && existsSync(join(pkiDir, 'ca.crt'))) {
    const key = join(p.pki, 'kubelet-client.key');
    const csr = join(p.pki, 'kubelet-client.csr');
    const crt = join(p.pki, 'kubelet-client.crt');
    await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
    await run('openssl', ['req', '-new', '-key', key, '-subj', `/O=system:nodes/CN=system:node:${REAL_NODE_NAME}`, '-out', csr]);
    await run('openssl', [
      'x509', '-req', '-in', csr, '-CA', join(pkiDir, 'ca.crt'), '-CAkey', join(pkiDir, 'ca.key'),
      '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '30', '-out', crt,
    ]);
    user = { 'client-certificate-data': b64(readFileSync(crt, 'utf8')), 'client-key-data': b64(readFileSync(key, 'utf8')) };
    log(`kubelet authenticates as system:node:${REAL_NODE_NAME} (certificate signed by the cluster CA)`);
  } else {
    const u = kc.getCurrentUser();
    if (!u?.certData || !u.keyData) throw new ClusterError(`no cluster CA key in ${pkiDir} and no client certificate in ${clusterKubeconfig} for the kubelet`);
    user = { 'client-certificate-data': u.certData, 'client-key-data': u.keyData };
    log(`no cluster CA key at ${pkiDir}: the kubelet uses the kubeconfig's own client certificate`);
  }
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'hearth', cluster: { server: cluster.server, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name: REAL_NODE_NAME, user }],
    contexts: [{ name: 'node', context: { cluster: 'hearth', user: REAL_NODE_NAME } }],
    'current-context': 'node',
  });
}

function spawnDaemon(cmd: string, args: string[], logFile: string, env: NodeJS.ProcessEnv): number {
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env });
  child.unref();
  if (!child.pid) throw new ClusterError(`cannot start ${cmd}`);
  return child.pid;
}

async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean> | boolean, onTimeout?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new ClusterError(`timed out after ${timeoutMs / 1000}s waiting for ${what}${onTimeout ? `\n${onTimeout()}` : ''}`);
}

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function cgroupHierarchies(): string[] {
  const found: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep < 0) continue;
    const fstype = f[sep + 1];
    if ((fstype === 'cgroup' || fstype === 'cgroup2') && f[4]?.startsWith('/sys/fs/cgroup')) found.push(f[4]);
  }
  return found;
}

/** The hierarchies the kubelet wants its cgroup root in: every mounted one (on a hybrid host, the v1 controllers, name=systemd and the v2 one). */
function cgroupRootParents(): string[] {
  return cgroupHierarchies().filter((h) => h !== '/sys/fs/cgroup' || readdirSync(h).includes('cgroup.controllers'));
}

function ipForward(): string {
  return readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
}

async function ctr(bin: string, p: Paths, args: string[]): Promise<string> {
  return run(join(bin, 'ctr'), ['--address', p.socket, '--namespace', 'k8s.io', ...args]);
}

async function importImages(bin: string, p: Paths, snapshotter: string, archives: { name: string; archive: string; digest: string }[], log: Log): Promise<void> {
  const have = await ctr(bin, p, ['images', 'ls']);
  for (const img of archives) {
    const line = have.split('\n').find((l) => l.startsWith(img.name + ' '));
    if (line?.includes(img.digest)) continue;
    const t0 = Date.now();
    await ctr(bin, p, ['images', 'import', '--snapshotter', snapshotter, img.archive]);
    log(`imported ${img.name} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  }
}

/** Imports OCI archives (from hack/lib/oci-image.ts) into the containerd of the real node running on this machine. */
export async function importIntoRunningNode(archives: { name: string; archive: string; digest: string }[], log: Log = defaultLog): Promise<void> {
  const dir = runningRealNodeOwner();
  if (!dir) throw new ClusterError('no real node runs on this machine');
  const p = paths(dir);
  const bin = await ensureNodeBinaries(() => undefined);
  await importImages(bin, p, readSnapshotter(p), archives, log);
}

function readSnapshotter(p: Paths): string {
  return /snapshotter = "([^"]+)"/.exec(readFileSync(p.containerdConfig, 'utf8'))?.[1] ?? 'overlayfs';
}

/** Ready as the kubelet says it (reason KubeletReady), not as a simulator that also watches nodes might. */
function nodeIsReady(n: V1Node | undefined): boolean {
  const ready = n?.status?.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'True' && ready.reason === 'KubeletReady';
}

async function readNode(core: CoreV1Api): Promise<V1Node | undefined> {
  try {
    return await core.readNode({ name: REAL_NODE_NAME });
  } catch (e) {
    if (e instanceof ApiException && e.code === 404) return undefined;
    throw e;
  }
}

interface Runtime {
  dir: string;
  p: Paths;
  bin: string;
  net: { cidr: string; gateway: string };
  snapshotter: string;
  env: NodeJS.ProcessEnv;
  t0: number;
}

/**
 * The container runtime half of the node: host preparation (bridge, cgroup root), containerd, and
 * the base images imported. Exported for diagnosis (`tsx hack/real-node.ts runtime`); startRealNode
 * adds the kubelet.
 */
export async function startNodeRuntime(opts: Omit<RealNodeOptions, 'kubeconfig'>): Promise<Runtime> {
  const log = opts.log ?? defaultLog;
  const support = realNodeSupport();
  if (!support.ok) throw new ClusterError(`this machine cannot host the real node: ${support.reason}`);
  const dir = opts.dir ?? realNodeDir();
  const p = paths(dir);
  const net = podNetwork(opts.podCidr ?? process.env.HEARTH_REAL_NODE_POD_CIDR ?? '10.244.0.0/24');
  const bin = await ensureNodeBinaries(log);
  const images = await baseImages();
  const owner = runningRealNodeOwner();
  if (owner && owner !== dir) throw new ClusterError(`a real node already runs on this machine (state in ${owner}); only one can`);
  await stopRealNode({ dir, log: () => undefined }).catch(() => undefined);
  writeFileSync(OWNER_FILE, dir);

  const t0 = Date.now();
  for (const d of [p.logs, p.cniConf, p.cniIpam, p.kubeletRoot, p.podLogs, p.pki, dirname(p.containerdConfig), p.containerdRoot, p.containerdState, p.runcRoot]) {
    mkdirSync(d, { recursive: true });
  }
  // containerd puts shim sockets in /run/containerd/s whatever its state dir; remove it at stop if it is ours.
  if (!existsSync('/run/containerd')) writeFileSync(p.runContainerdMarker, '');
  writeFileSync(p.forwardMarker, ipForward());

  // The bridge exists before the kubelet starts: its address is the node's address.
  if (spawnSync('ip', ['link', 'show', BRIDGE], { stdio: 'ignore' }).status !== 0) {
    await run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  }
  await run('ip', ['addr', 'replace', `${net.gateway}/24`, 'dev', BRIDGE]);
  await run('ip', ['link', 'set', BRIDGE, 'up']);
  setHostsEntry(net.gateway);
  for (const h of cgroupRootParents()) mkdirSync(join(h, CGROUP_ROOT), { recursive: true });

  const snapshotter = overlaySupported(p) ? 'overlayfs' : 'native';
  writeFileSync(p.containerdConfig, containerdConfig(p, bin, snapshotter));
  writeFileSync(join(p.cniConf, '10-hearth.conflist'), cniConfig(p, net));
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
  const containerdLog = join(p.logs, 'containerd.log');
  spawnDaemon(join(bin, 'containerd'), ['--config', p.containerdConfig], containerdLog, env);
  await waitUntil('containerd to answer', 30_000, async () => {
    if (!existsSync(p.socket)) return false;
    return ctr(bin, p, ['version']).then(() => true, () => false);
  }, () => tail(containerdLog));
  await importImages(bin, p, snapshotter, images, log);
  return { dir, p, bin, net, snapshotter, env, t0 };
}

/** Starts containerd and the kubelet and waits for the Node to be Ready. Stops a leftover node first. */
export async function startRealNode(opts: RealNodeOptions): Promise<RealNode> {
  const log = opts.log ?? defaultLog;
  const { dir, p, bin, net, snapshotter, env, t0 } = await startNodeRuntime(opts);
  const kc = kubeConfigFrom(opts.kubeconfig);
  writeFileSync(p.kubeletKubeconfig, await kubeletKubeconfig(kc, opts.kubeconfig, p, log), { mode: 0o600 });
  writeFileSync(p.kubeletConfig, kubeletConfig(p, net.gateway));
  const kubeletLog = join(p.logs, 'kubelet.log');
  const kubeletPid = spawnDaemon(
    join(bin, 'kubelet'),
    [
      `--config=${p.kubeletConfig}`,
      `--kubeconfig=${p.kubeletKubeconfig}`,
      `--root-dir=${p.kubeletRoot}`,
      `--cert-dir=${p.pki}`,
      `--hostname-override=${REAL_NODE_NAME}`,
      `--node-ip=${net.gateway}`,
      `--node-labels=${NODE_KIND_LABEL}=cpu,${REAL_NODE_LABEL}=true`,
      '--v=1',
    ],
    kubeletLog,
    env,
  );
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await waitUntil(
      `node ${REAL_NODE_NAME} to be Ready`,
      120_000,
      async () => {
        if (!existsSync(`/proc/${kubeletPid}`) || readFileSync(`/proc/${kubeletPid}/stat`, 'utf8').split(' ')[2] === 'Z') {
          throw new ClusterError(`the kubelet exited:\n${tail(kubeletLog, 8)}`);
        }
        return nodeIsReady(await readNode(core).catch(() => undefined));
      },
      () => tail(kubeletLog),
    );
  } catch (e) {
    await stopRealNode({ dir, kubeconfig: opts.kubeconfig, log: () => undefined }).catch(() => undefined);
    throw e;
  }
  const startSeconds = (Date.now() - t0) / 1000;
  log(`real node ${REAL_NODE_NAME} Ready in ${startSeconds.toFixed(1)}s (pod network ${net.cidr}, ${snapshotter} snapshots)`);
  return { name: REAL_NODE_NAME, dir, nodeIp: net.gateway, podCidr: net.cidr, containerdSocket: p.socket, binDir: bin, startSeconds };
}

function overlaySupported(p: Paths): boolean {
  if (process.env.HEARTH_REAL_NODE_SNAPSHOTTER) return process.env.HEARTH_REAL_NODE_SNAPSHOTTER === 'overlayfs';
  const t = join(p.dir, 'run', `overlay-probe-${process.pid}`);
  for (const d of ['l', 'u', 'w', 'm']) mkdirSync(join(t, d), { recursive: true });
  const ok = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${t}/l,upperdir=${t}/u,workdir=${t}/w`, `${t}/m`], { stdio: 'ignore' }).status === 0;
  if (ok) spawnSync('umount', [`${t}/m`], { stdio: 'ignore' });
  rmSync(t, { recursive: true, force: true });
  return ok;
}

/** What the real node left on the machine: should all be empty once it is stopped. */
export interface RealNodeLeftovers {
  processes: { pid: number; cmd: string }[];
  mounts: string[];
  links: string[];
  cgroups: string[];
  hostsEntries: string[];
}

function processesUnder(dir: string): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(dir + '/')) found.push({ pid: Number(entry), cmd });
    } catch {
      // ended while we looked
    }
  }
  return found;
}

function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp && (mp === dir || mp.startsWith(dir + '/'))) out.push(mp.replace(/\\040/g, ' '));
  }
  return out;
}

function cgroupDirs(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    out.push(d);
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
  };
  for (const h of cgroupHierarchies()) {
    const root = join(h, CGROUP_ROOT);
    if (existsSync(root)) walk(root);
  }
  return out;
}

function bridgeLinks(): string[] {
  const r = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
  return (r.stdout ?? '')
    .split('\n')
    .filter((l) => l.includes(` ${BRIDGE}:`) || l.includes(`master ${BRIDGE} `))
    .map((l) => l.split(':')[1]!.trim().split('@')[0]!);
}

export function realNodeLeftovers(dir = realNodeDir()): RealNodeLeftovers {
  return { processes: processesUnder(dir), mounts: mountsUnder(dir), links: bridgeLinks(), cgroups: cgroupDirs(), hostsEntries: hostsEntries() };
}

function kill(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Every process in the node's cgroups (the containers' processes, which carry no path of ours). */
function cgroupPids(): number[] {
  const pids = new Set<number>();
  for (const d of cgroupDirs()) {
    try {
      for (const l of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) if (l) pids.add(Number(l));
    } catch {
      // removed meanwhile
    }
  }
  return [...pids];
}

/**
 * Stops the kubelet, the containers, the shims and containerd, then removes the node's mounts,
 * network namespaces, veths, bridge and cgroups, restores ip_forward, and (when the cluster answers)
 * deletes the Node object. Throws if anything is still left.
 */
export async function stopRealNode(opts: { dir?: string; kubeconfig?: string; log?: Log } = {}): Promise<void> {
  const log = opts.log ?? defaultLog;
  const dir = opts.dir ?? realNodeDir();
  const p = paths(dir);
  const owner = existsSync(OWNER_FILE) ? readFileSync(OWNER_FILE, 'utf8').trim() : undefined;
  if (owner && owner !== dir) {
    // The machine's bridge and cgroups belong to another cluster's node: only our own processes go.
    kill(processesUnder(dir).map((x) => x.pid), 'SIGKILL');
    log(`the real node on this machine belongs to ${owner}; left it alone`);
    return;
  }
  const isKubelet = (c: string) => c.includes('/kubelet ') || c.includes('kubelet --config');
  const stopAndWait = async (select: () => { pid: number; cmd: string }[], what: string) => {
    kill(select().map((x) => x.pid), 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (select().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    if (select().length > 0) {
      log(`${what} did not stop on SIGTERM: SIGKILL`);
      kill(select().map((x) => x.pid), 'SIGKILL');
      await new Promise((r) => setTimeout(r, 300));
    }
  };
  await stopAndWait(() => processesUnder(dir).filter((x) => isKubelet(x.cmd)), 'kubelet');
  // Containers first (they hold the mounts and namespaces), then their shims, then containerd.
  for (let i = 0; i < 20 && cgroupPids().length > 0; i++) {
    kill(cgroupPids(), 'SIGKILL');
    await new Promise((r) => setTimeout(r, 150));
  }
  kill(processesUnder(dir).filter((x) => x.cmd.includes('containerd-shim')).map((x) => x.pid), 'SIGKILL');
  await stopAndWait(() => processesUnder(dir), 'containerd');

  // Mounts, deepest first (container root filesystems, netns bind mounts, pod volumes).
  for (const m of mountsUnder(dir).sort((a, b) => b.length - a.length)) {
    if (spawnSync('umount', [m], { stdio: 'ignore' }).status !== 0) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  }
  for (const l of bridgeLinks().filter((l) => l !== BRIDGE)) spawnSync('ip', ['link', 'del', l], { stdio: 'ignore' });
  if (bridgeLinks().includes(BRIDGE)) spawnSync('ip', ['link', 'del', BRIDGE], { stdio: 'ignore' });
  for (const d of cgroupDirs().sort((a, b) => b.length - a.length)) {
    try {
      rmSync(d, { recursive: false, force: true });
    } catch {
      spawnSync('rmdir', [d], { stdio: 'ignore' });
    }
  }
  for (const d of cgroupDirs().sort((a, b) => b.length - a.length)) spawnSync('rmdir', [d], { stdio: 'ignore' });
  if (existsSync(p.forwardMarker)) {
    writeFileSync('/proc/sys/net/ipv4/ip_forward', readFileSync(p.forwardMarker, 'utf8').trim());
    unlinkSync(p.forwardMarker);
  }
  if (existsSync(p.runContainerdMarker)) {
    rmSync('/run/containerd', { recursive: true, force: true });
    unlinkSync(p.runContainerdMarker);
  }
  removeContainerLogLinks(p.podLogs);
  if (hostsEntries().length > 0) setHostsEntry(undefined);
  if (mountsUnder(dir).length === 0) rmSync(join(dir, 'run'), { recursive: true, force: true });

  rmSync(OWNER_FILE, { force: true });
  if (opts.kubeconfig && existsSync(opts.kubeconfig)) {
    const core = kubeConfigFrom(opts.kubeconfig).makeApiClient(CoreV1Api);
    // Its pods are gone with its containers: remove them now rather than after the pod GC's
    // grace period (their namespaces would stay Terminating until then).
    const pods = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${REAL_NODE_NAME}` }).catch(() => undefined);
    await Promise.all(
      (pods?.items ?? []).map((pod) =>
        core.deleteNamespacedPod({ name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, gracePeriodSeconds: 0 }).catch(() => undefined),
      ),
    );
    await core.deleteNode({ name: REAL_NODE_NAME }).catch((e: unknown) => {
      if (!(e instanceof ApiException && e.code === 404)) log(`could not delete node ${REAL_NODE_NAME}: ${(e as Error).message.split('\n')[0]}`);
    });
  }
  const left = realNodeLeftovers(dir);
  const problems = [
    ...left.processes.map((x) => `process ${x.pid} ${x.cmd.slice(0, 80)}`),
    ...left.mounts.map((m) => `mount ${m}`),
    ...left.links.map((l) => `link ${l}`),
    ...left.cgroups.map((c) => `cgroup ${c}`),
    ...left.hostsEntries.map((h) => `${HOSTS_FILE} line "${h}"`),
  ];
  if (problems.length > 0) throw new ClusterError(`the real node left behind:\n  ${problems.join('\n  ')}`);
  log('real node stopped; no process, mount, network namespace, link, cgroup or /etc/hosts line left');
}

/** The kubelet links container logs into /var/log/containers; remove the links that point into our pod logs. */
function removeContainerLogLinks(podLogs: string): void {
  const d = '/var/log/containers';
  if (!existsSync(d)) return;
  for (const f of readdirSync(d)) {
    try {
      if (readlinkSync(join(d, f)).startsWith(podLogs)) unlinkSync(join(d, f));
    } catch {
      // not a link
    }
  }
  try {
    if (readdirSync(d).length === 0 && statSync(d).isDirectory()) rmSync(d, { recursive: true });
  } catch {
    // someone else's
  }
}
