// The artifact store (see store.ts): `openArtifactStore(config.artifacts)` picks the backend the
// configuration names. api/ and controllers/ import from here (ARCHITECTURE §8).
import { FsArtifactStore } from './fs-store.js';
import { S3ArtifactStore } from './s3-store.js';
import type { ArtifactStore } from './store.js';

export { FsArtifactStore } from './fs-store.js';
export { S3ArtifactStore, type S3StoreOptions } from './s3-store.js';
export { checkKey, checkPrefix, InvalidKeyError, readRange, type ArtifactStore, type ByteRange, type ObjectInfo, type PutOptions } from './store.js';

/** The `artifacts` section of src/config.ts (declared here so this layer imports nothing above it). */
export interface ArtifactStoreConfig {
  store: 'fs' | 's3';
  dir: string;
  s3Endpoint?: string | undefined;
  s3Region: string;
  s3Bucket?: string | undefined;
  s3Prefix?: string | undefined;
  s3AccessKeyId?: string | undefined;
  s3SecretAccessKey?: string | undefined;
  s3ForcePathStyle: boolean;
  s3CreateBucket: boolean;
}

/** The configured store, initialised (directory or bucket checked, created where allowed). */
export async function openArtifactStore(c: ArtifactStoreConfig): Promise<ArtifactStore> {
  const store: ArtifactStore =
    c.store === 's3'
      ? new S3ArtifactStore({
          region: c.s3Region,
          bucket: c.s3Bucket ?? '',
          forcePathStyle: c.s3ForcePathStyle,
          createBucket: c.s3CreateBucket,
          ...(c.s3Endpoint ? { endpoint: c.s3Endpoint } : {}),
          ...(c.s3Prefix ? { prefix: c.s3Prefix } : {}),
          ...(c.s3AccessKeyId && c.s3SecretAccessKey ? { accessKeyId: c.s3AccessKeyId, secretAccessKey: c.s3SecretAccessKey } : {}),
        })
      : new FsArtifactStore(c.dir);
  await store.init();
  return store;
}
