import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config.js';
import { createLogger } from '../log.js';
import { DEFAULT_MODEL_SERVER_CONFIG } from '../controllers/deployment/model-server-config.js';
import { modelFilesWiring } from './controller.js';

const log = createLogger({ level: 'silent' });

describe("mode controller: the Deployment controller's model-server settings", () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-ctl-'));
  const settings = join(dir, 'model-server.yaml');
  writeFileSync(settings, 'servers:\n  cpu: { image: registry.local/vllm-cpu:v1, cpu: "2", memory: 4Gi }\n');

  it('no settings file, no model files: the defaults (no CPU runtime)', () => {
    expect(modelFilesWiring(parseConfig({}), log).deployment).toEqual({});
  });

  it('HEARTH_MODEL_SERVER_CONFIG_FILE alone: its CPU runtime over the defaults', () => {
    const c = modelFilesWiring(parseConfig({ HEARTH_MODEL_SERVER_CONFIG_FILE: settings }), log).deployment.modelServerConfig;
    expect(c?.servers.cpu).toMatchObject({ image: 'registry.local/vllm-cpu:v1', cpu: '2', memory: '4Gi' });
    expect(c?.servers.nvidia).toEqual(DEFAULT_MODEL_SERVER_CONFIG.servers.nvidia);
    expect(c?.modelFiles).toBeUndefined();
  });

  it('with the model-files sidecar too: both', () => {
    const c = modelFilesWiring(
      parseConfig({ HEARTH_MODEL_SERVER_CONFIG_FILE: settings, HEARTH_MODEL_FILES_IMAGE: 'ghcr.io/hearth-dev/hearth:1', HEARTH_MODEL_FILES_SOURCE_URL: 'http://hearth-api:8080' }),
      log,
    ).deployment.modelServerConfig;
    expect(c?.servers.cpu?.image).toBe('registry.local/vllm-cpu:v1');
    expect(c?.modelFiles).toMatchObject({ image: 'ghcr.io/hearth-dev/hearth:1', sourceUrl: 'http://hearth-api:8080' });
  });
});
