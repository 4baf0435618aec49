// The S3 artifact store against a real S3-compatible server (versitygw, built from its Go module by
// hack/build-bins.sh, started here on a loopback port over a temporary directory): the same
// contract as the filesystem store, plus a 1 GiB upload whose memory must stay flat.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, type S3Server } from '../../hack/lib/s3-server.js';
import { FsArtifactStore, openArtifactStore, S3ArtifactStore, type ArtifactStore } from '../../src/artifacts/index.js';
import { describeArtifactStore } from '../../src/artifacts/store-contract.test-helper.js';
import { parseConfig } from '../../src/config.js';

let server: S3Server;
let s3: S3ArtifactStore;

beforeAll(async () => {
  server = await startS3Server({ log: (m) => process.stderr.write(`[s3] ${m}\n`) });
  s3 = new S3ArtifactStore({ endpoint: server.endpoint, region: server.region, bucket: 'hearth-test', prefix: 'p/', accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, createBucket: true, forcePathStyle: true });
  await s3.init();
});
afterAll(async () => {
  await s3?.close();
  await server?.stop();
});

describeArtifactStore('S3ArtifactStore (versitygw)', () => s3, 'contract');

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** `total` bytes in 1 MiB chunks (one buffer reused, so the source itself holds no memory). */
async function* bytes(total: number): AsyncGenerator<Buffer> {
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE(i, i);
  for (let sent = 0; sent < total; sent += MiB) yield block.subarray(0, Math.min(MiB, total - sent));
}

/** Runs `fn` while sampling RSS every 20 ms; the peak growth over the RSS before it, in MiB. */
async function peakRssGrowth(fn: () => Promise<void>): Promise<number> {
  global.gc?.();
  const before = process.memoryUsage.rss();
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage.rss());
  return (peak - before) / MiB;
}

describe('a 1 GiB upload streams: RSS stays flat', () => {
  // 8 MiB parts, 2 in flight, plus the SDK's and the socket's buffers: well under 128 MiB. A store
  // that buffered the file would grow by 1 GiB.
  const BOUND_MIB = 128;

  const measure = async (store: ArtifactStore, name: string): Promise<void> => {
    const t0 = Date.now();
    const growth = await peakRssGrowth(async () => {
      expect(await store.put('big/one-gib.bin', bytes(GiB))).toEqual({ key: 'big/one-gib.bin', size: GiB });
    });
    const secs = (Date.now() - t0) / 1000;
    process.stderr.write(`[artifacts] ${name}: 1 GiB put in ${secs.toFixed(1)} s, peak RSS growth ${growth.toFixed(1)} MiB (bound ${BOUND_MIB} MiB)\n`);
    expect(await store.head('big/one-gib.bin')).toEqual({ key: 'big/one-gib.bin', size: GiB });
    expect(growth).toBeLessThan(BOUND_MIB);
    await store.delete('big/one-gib.bin');
  };

  it('to S3 (multipart, bounded parts in flight)', async () => {
    await measure(s3, 'S3 (versitygw)');
  }, 300_000);

  it('to the filesystem store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-fs-big-'));
    try {
      const fs = new FsArtifactStore(dir);
      await fs.init();
      await measure(fs, 'filesystem');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('openArtifactStore', () => {
  it('opens the S3 store the configuration names, creating the bucket when told to', async () => {
    const config = parseConfig({
      HEARTH_ARTIFACT_STORE: 's3',
      HEARTH_S3_ENDPOINT: server.endpoint,
      HEARTH_S3_BUCKET: 'hearth-config',
      HEARTH_S3_ACCESS_KEY_ID: server.accessKeyId,
      HEARTH_S3_SECRET_ACCESS_KEY: server.secretAccessKey,
      HEARTH_S3_CREATE_BUCKET: 'true',
    });
    const store = await openArtifactStore(config.artifacts);
    try {
      expect(store.kind).toBe('s3');
      expect(store.location).toBe('s3://hearth-config/');
      await store.put('x', (async function* () {
        yield Buffer.from('y');
      })());
      expect(await store.head('x')).toEqual({ key: 'x', size: 1 });
    } finally {
      await store.close();
    }
  });

  it('fails at start on a missing bucket it may not create', async () => {
    const config = parseConfig({
      HEARTH_ARTIFACT_STORE: 's3',
      HEARTH_S3_ENDPOINT: server.endpoint,
      HEARTH_S3_BUCKET: 'hearth-missing',
      HEARTH_S3_ACCESS_KEY_ID: server.accessKeyId,
      HEARTH_S3_SECRET_ACCESS_KEY: server.secretAccessKey,
    });
    await expect(openArtifactStore(config.artifacts)).rejects.toThrow();
  });
});
