// Mode `model-files`: the sidecar process as main.ts runs it (configuration → server → signal → exit 0).
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../config.js';
import { createLogger } from '../log.js';
import { runModelFiles } from './model-files.js';

const log = createLogger({ level: 'silent' });

describe('mode model-files', () => {
  it('needs the source URL (exit 2)', async () => {
    expect(await runModelFiles(parseConfig({}), log)).toBe(2);
  });

  it('the controller refuses HEARTH_MODEL_FILES_IMAGE without HEARTH_MODEL_FILES_SOURCE_URL', () => {
    expect(() => parseConfig({ HEARTH_MODEL_FILES_IMAGE: 'ghcr.io/hearth-dev/hearth:1' })).toThrow(ConfigError);
    expect(() => parseConfig({ HEARTH_MODEL_FILES_SOURCE_URL: 'ftp://x' })).toThrow(/HEARTH_MODEL_FILES_SOURCE_URL/);
  });

  it('serves on the configured port until SIGTERM, then exits 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-mode-model-files-'));
    const config = parseConfig({ HEARTH_MODEL_FILES_SOURCE_URL: 'http://127.0.0.1:1', HEARTH_MODEL_FILES_DIR: dir, HEARTH_MODEL_FILES_HOST: '127.0.0.1', HEARTH_MODEL_FILES_PORT: '0' });
    expect(config.modelFiles).toMatchObject({ dir, host: '127.0.0.1', port: 0 });
    expect(parseConfig({}).modelFiles).toMatchObject({ dir: '/mnt/models', host: '0.0.0.0', port: 8079 });
    const signals = new EventEmitter();
    const running = runModelFiles(config, log, signals);
    // Listening once it waits for signals (no sleep: the next turns of the event loop).
    while (signals.listenerCount('SIGTERM') === 0) await new Promise((r) => setImmediate(r));
    signals.emit('SIGTERM');
    expect(await running).toBe(0);
    await rm(dir, { recursive: true, force: true });
  });
});
