// The real node's base images, built here without a registry (issue 18 item 2):
//   hearth.local/busybox:<v>  Debian's busybox-static (one static binary) with its applets linked
//                             in /bin: the small image tests run commands in.
//   hearth.local/pause:<v>    the same files, entry point `sleep`: the pod sandbox image containerd
//                             is configured with (a sandbox's process only has to stay alive;
//                             containerd stops sandboxes with SIGKILL).
// The .deb comes through apt (`apt-get download`, the Debian archive the machines reach) and is
// unpacked with dpkg-deb into the cache; nothing is installed on the machine.
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterError, run } from './cluster.js';
import { buildOciArchive, type BuiltImage } from './oci-image.js';

export const BUSYBOX_TAG = '1.35';
export const BUSYBOX_IMAGE = `hearth.local/busybox:${BUSYBOX_TAG}`;
export const PAUSE_IMAGE = `hearth.local/pause:${BUSYBOX_TAG}`;

export function imageCacheDir(): string {
  const cache = process.env.HEARTH_CACHE ?? join(process.env.HOME ?? '/root', '.cache/hearth');
  return join(cache, 'images');
}

/** A root filesystem holding busybox and its applets; cached. */
export async function busyboxRootfs(): Promise<string> {
  const root = join(imageCacheDir(), `busybox-rootfs-${BUSYBOX_TAG}`);
  if (existsSync(join(root, 'bin', 'busybox'))) return root;
  const debs = join(imageCacheDir(), 'debs');
  mkdirSync(debs, { recursive: true });
  let deb = readdirSync(debs).find((f) => f.startsWith('busybox-static_') && f.endsWith('.deb'));
  if (!deb) {
    await run('apt-get', ['download', 'busybox-static'], { cwd: debs }).catch((e: Error) => {
      throw new ClusterError(
        `cannot fetch Debian's busybox-static for the real node's images (apt-get download busybox-static): ${e.message}\n` +
          'run `apt-get update` once, or set HEARTH_REAL_NODE=0 to start the cluster without the real node',
      );
    });
    deb = readdirSync(debs).find((f) => f.startsWith('busybox-static_') && f.endsWith('.deb'));
    if (!deb) throw new ClusterError('apt-get download busybox-static left no .deb');
  }
  const tmp = `${root}.tmp.${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const x = join(tmp, 'x');
  mkdirSync(x, { recursive: true });
  await run('dpkg-deb', ['-x', join(debs, deb), x]);
  const fs = join(tmp, 'rootfs');
  mkdirSync(join(fs, 'bin'), { recursive: true });
  await run('cp', [join(x, 'bin', 'busybox'), join(fs, 'bin', 'busybox')]);
  const applets = (await run(join(fs, 'bin', 'busybox'), ['--list'])).split('\n').filter((a) => /^[a-z0-9_.[-]+$/.test(a));
  for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', join(fs, 'bin', a));
  for (const d of ['etc', 'tmp', 'proc', 'sys', 'dev']) mkdirSync(join(fs, d), { recursive: true, mode: d === 'tmp' ? 0o1777 : 0o755 });
  await run('chmod', ['1777', join(fs, 'tmp')]);
  writeFileSync(join(fs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(fs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  renameSync(fs, root);
  rmSync(tmp, { recursive: true, force: true });
  return root;
}

/** Builds (or finds cached) the busybox and pause archives. */
export async function baseImages(): Promise<BuiltImage[]> {
  const rootfs = await busyboxRootfs();
  const dir = join(imageCacheDir(), 'archives');
  return [
    await buildOciArchive(
      { name: BUSYBOX_IMAGE, layers: [rootfs], config: { Cmd: ['sh'], Env: ['PATH=/bin'] } },
      join(dir, `busybox-${BUSYBOX_TAG}.tar`),
    ),
    await buildOciArchive(
      { name: PAUSE_IMAGE, layers: [rootfs], config: { Entrypoint: ['/bin/sleep', '2147483647'], Env: ['PATH=/bin'] } },
      join(dir, `pause-${BUSYBOX_TAG}.tar`),
    ),
  ];
}
