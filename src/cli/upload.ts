// Uploading files through the signed-URL flow REST publishes (datasets and models alike):
// `:getUploadEndpoint {filenameToSize}` → a signed URL per file → PUT the raw bytes (streamed, with
// progress: bytes, rate, ETA) → `:validateUpload`, which makes the resource READY or names what
// is wrong with the file.
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { putFile } from './client.js';
import type { Ctx } from './context.js';
import { UsageError } from './errors.js';
import { uploadState } from './waits.js';

/** The files of `path`: the file itself, or the regular files directly inside a folder. */
export function filesOf(path: string): { name: string; path: string; size: number }[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError(`${path}: no such file or folder`);
  }
  if (st.isFile()) return [{ name: basename(path), path, size: st.size }];
  return readdirSync(path, { withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => ({ name: d.name, path: join(path, d.name), size: statSync(join(path, d.name)).size }));
}

/** Uploads `files` to a resource (`/datasets/x` or `/models/x`) with progress on stderr. */
export async function uploadFiles(ctx: Ctx, resourcePath: string, files: { name: string; path: string; size: number }[]): Promise<void> {
  const filenameToSize = Object.fromEntries(files.map((f) => [f.name, String(f.size)]));
  const endpoint = await ctx.client.account<{ filenameToSignedUrls?: Record<string, string> }>('POST', `${resourcePath}:getUploadEndpoint`, { body: { filenameToSize } });
  for (const f of files) {
    const url = endpoint.filenameToSignedUrls?.[f.name];
    if (!url) throw new UsageError(`the server gave no upload URL for ${f.name}`);
    const display = ctx.display();
    const start = Date.now();
    display.update(uploadState(f.name, 0, f.size, 0));
    await putFile(url, f.path, (sent, total) => display.update(uploadState(f.name, sent, total, Date.now() - start))).finally(() => display.stop());
  }
}
