// Builds OCI images without a registry or a daemon (issue 18 item 2): each layer is a directory
// tarred by GNU tar with fixed owner, order and times (so the same input gives the same digest),
// then the image config, manifest, index.json and oci-layout are written as the OCI image layout
// describes, and the layout is packed into one tar that `ctr images import` reads.
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run } from './cluster.js';

/** The parts of an OCI image config's `config` object the recipes use (image-spec config.md). */
export interface ImageRuntimeConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  User?: string;
  WorkingDir?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Labels?: Record<string, string>;
}

export interface ImageRecipe {
  /** Full reference, e.g. `hearth.local/busybox:1.35`: the name containerd stores the image under. */
  name: string;
  /** Directories whose contents become the layers, bottom first (each is the root of the filesystem). */
  layers: string[];
  config: ImageRuntimeConfig;
}

export interface BuiltImage {
  name: string;
  /** The archive `ctr images import` reads (an OCI layout in a tar). */
  archive: string;
  /** The manifest's digest (sha256:…), which names the image's content. */
  digest: string;
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

function sha256(data: string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes a JSON blob into the layout; returns its descriptor. */
function writeBlob(blobs: string, mediaType: string, value: unknown): { mediaType: string; digest: string; size: number } {
  const text = JSON.stringify(value);
  const hex = sha256(text);
  writeFileSync(join(blobs, hex), text);
  return { mediaType, digest: `sha256:${hex}`, size: Buffer.byteLength(text) };
}

/** Packs a recipe into an OCI layout archive at `archive`. Deterministic for the same input files. */
export async function buildOciArchive(recipe: ImageRecipe, archive: string): Promise<BuiltImage> {
  const work = mkdtempSync(join(tmpdir(), 'hearth-oci-'));
  try {
    const layout = join(work, 'layout');
    const blobs = join(layout, 'blobs', 'sha256');
    mkdirSync(blobs, { recursive: true });
    const layers: { mediaType: string; digest: string; size: number }[] = [];
    const diffIds: string[] = [];
    for (const [i, dir] of recipe.layers.entries()) {
      const tar = join(work, `layer-${i}.tar`);
      // Uncompressed layers: the digest is also the diff_id, and import needs no gzip pass.
      await run('tar', [
        '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '--format=posix',
        '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
        '-C', dir, '-cf', tar, '.',
      ]);
      const hex = await sha256File(tar);
      renameSync(tar, join(blobs, hex));
      layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${hex}`, size: statSync(join(blobs, hex)).size });
      diffIds.push(`sha256:${hex}`);
    }
    const config = writeBlob(blobs, 'application/vnd.oci.image.config.v1+json', {
      architecture: 'amd64',
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config: recipe.config,
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: recipe.layers.map(() => ({ created: '1970-01-01T00:00:00Z', created_by: 'hack/lib/oci-image.ts' })),
    });
    const manifest = writeBlob(blobs, 'application/vnd.oci.image.manifest.v1+json', {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config,
      layers,
    });
    const tag = recipe.name.slice(recipe.name.lastIndexOf(':') + 1);
    writeFileSync(
      join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            ...manifest,
            annotations: { 'io.containerd.image.name': recipe.name, 'org.opencontainers.image.ref.name': tag },
          },
        ],
      }),
    );
    writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    mkdirSync(dirname(archive), { recursive: true });
    const tmp = `${archive}.tmp.${process.pid}`;
    await run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', layout, '-cf', tmp, 'oci-layout', 'index.json', 'blobs']);
    renameSync(tmp, archive);
    return { name: recipe.name, archive, digest: manifest.digest };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
