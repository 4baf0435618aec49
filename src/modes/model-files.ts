// Mode `model-files`: the sidecar of model-server pods that accept addons (controllers/deployment/
// children/workload.ts adds it). It needs neither Kubernetes nor the database: it serves
// PUT/DELETE /v1/model-files/{account}/{model} on HEARTH_MODEL_FILES_HOST:PORT and fetches the
// signed download URLs of HEARTH_MODEL_FILES_SOURCE_URL into HEARTH_MODEL_FILES_DIR
// (src/artifacts/model-files-server.ts).
import { startModelFilesServer } from '../artifacts/model-files-server.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { untilSignalOrFailure, type Signals } from './service.js';

/** Runs until SIGTERM/SIGINT; 2 when the source URL is missing. */
export async function runModelFiles(config: Config, log: Logger, signals?: Signals): Promise<number> {
  const { sourceUrl, dir, host, port } = config.modelFiles;
  if (!sourceUrl) {
    process.stderr.write('HEARTH_MODEL_FILES_SOURCE_URL: required in mode model-files (the Hearth API whose signed URLs it fetches)\n');
    return 2;
  }
  const server = await startModelFilesServer({ root: dir, sourceUrl, host, port });
  log.info({ url: server.url, dir, source: sourceUrl }, 'model-files sidecar listening');
  const code = await untilSignalOrFailure([{ name: 'model-files', stop: () => server.close() }], log, signals);
  await server.close();
  return code;
}
