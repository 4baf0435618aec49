import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { datasetSettings, main, parseConfig, untilSignalOrFailure, type Service, type Signals } from './main.js';

describe('main', () => {
  it('reads its configuration from the environment with the documented defaults', () => {
    expect(parseConfig({})).toMatchObject({ PORT: 8080, HOST: '127.0.0.1', LOG_LEVEL: 'info', HEARTH_RATE_LIMIT_RPS: 50 });
    expect(parseConfig({ PORT: '9000', DATABASE_URL: 'postgres://x/y' })).toMatchObject({ PORT: 9000, DATABASE_URL: 'postgres://x/y' });
    expect(() => parseConfig({ PORT: 'http', LOG_LEVEL: 'loud' })).toThrow(/PORT[\s\S]*LOG_LEVEL/);
    // The autoscaler's operator settings: a 5m floor under scaleToZeroWindow; the override is for tests and demos.
    expect(parseConfig({})).toMatchObject({ HEARTH_MIN_SCALE_TO_ZERO_WINDOW: '5m' });
    expect(parseConfig({}).HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE).toBeUndefined();
    expect(parseConfig({ HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE: '20s' })).toMatchObject({ HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE: '20s' });
    expect(() => parseConfig({ HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE: 'soon', HEARTH_MIN_SCALE_TO_ZERO_WINDOW: '5' })).toThrow(/HEARTH_MIN_SCALE_TO_ZERO_WINDOW[\s\S]*HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE|HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE[\s\S]*HEARTH_MIN_SCALE_TO_ZERO_WINDOW/);
  });

  it('reads the load transport settings: a token of 16+ characters, gateway admin URLs as a comma-separated list', () => {
    expect(parseConfig({ HEARTH_GATEWAY_LOAD_URLS: 'http://127.0.0.1:9091, http://10.0.0.7:9091/,' })).toMatchObject({
      HEARTH_GATEWAY_LOAD_URLS: ['http://127.0.0.1:9091', 'http://10.0.0.7:9091/'],
    });
    expect(() => parseConfig({ HEARTH_GATEWAY_LOAD_URLS: 'gateway:9091' })).toThrow(/HEARTH_GATEWAY_LOAD_URLS/);
    expect(() => parseConfig({ HEARTH_INTERNAL_TOKEN: 'short' })).toThrow(/HEARTH_INTERNAL_TOKEN/);
    expect(parseConfig({ HEARTH_INTERNAL_TOKEN: 'x'.repeat(16), HEARTH_GATEWAY_LOAD_SELECTOR: 'kubernetes.io/service-name=hearth-gateway-admin' })).toMatchObject({
      HEARTH_GATEWAY_LOAD_SELECTOR: 'kubernetes.io/service-name=hearth-gateway-admin',
    });
  });

  it('gives every API replica the same upload-URL secret: its own setting, else derived from the page-token secret', () => {
    const page = 'p'.repeat(32);
    const derived = datasetSettings(parseConfig({ HEARTH_PAGE_TOKEN_SECRET: page }));
    expect(derived.uploadUrlSecret).toEqual(datasetSettings(parseConfig({ HEARTH_PAGE_TOKEN_SECRET: page })).uploadUrlSecret);
    expect(String(derived.uploadUrlSecret)).not.toContain(page);
    expect(datasetSettings(parseConfig({ HEARTH_PAGE_TOKEN_SECRET: page, HEARTH_UPLOAD_URL_SECRET: 'u'.repeat(16) })).uploadUrlSecret).toBe('u'.repeat(16));
    expect(datasetSettings(parseConfig({})).uploadUrlSecret).toBeUndefined();
    expect(datasetSettings(parseConfig({ HEARTH_PUBLIC_URL: 'https://hearth.example.com/', HEARTH_DATASET_MAX_UPLOAD_BYTES: '1048576' }))).toEqual({
      publicBaseUrl: 'https://hearth.example.com',
      maxUploadBytes: 1048576,
    });
    expect(() => parseConfig({ HEARTH_PUBLIC_URL: 'hearth.example.com', HEARTH_UPLOAD_URL_SECRET: 'short' })).toThrow(/HEARTH_UPLOAD_URL_SECRET[\s\S]*HEARTH_PUBLIC_URL|HEARTH_PUBLIC_URL[\s\S]*HEARTH_UPLOAD_URL_SECRET/);
  });

  it('reads the controller selector (sharding, shared clusters) and refuses one that is not a label selector', () => {
    expect(parseConfig({}).HEARTH_CONTROLLER_SELECTOR).toBeUndefined();
    expect(parseConfig({ HEARTH_CONTROLLER_SELECTOR: 'hearth.dev/shard=a,team in (x, y)' })).toMatchObject({ HEARTH_CONTROLLER_SELECTOR: 'hearth.dev/shard=a,team in (x, y)' });
    expect(() => parseConfig({ HEARTH_CONTROLLER_SELECTOR: 'a=b;rm -rf' })).toThrow(/HEARTH_CONTROLLER_SELECTOR/);
  });

  it('refuses unknown modes and a bootstrap without its arguments, before touching anything', async () => {
    expect(await main(['nonsense'], {})).toBe(2);
    expect(await main(['controller'], { KUBECONFIG: '/nonexistent/kubeconfig' })).toBe(2);
    expect(await main(['bootstrap', '--account', 'acme'], {})).toBe(2);
    expect(await main(['bootstrap', '--account', 'acme', '--email', 'a@b.c'], {})).toBe(2); // no DATABASE_URL
    expect(await main(['api'], { PORT: 'x' })).toBe(2);
    expect(await main(['all'], { KUBECONFIG: '/nonexistent/kubeconfig' })).toBe(2);
  });
});

describe('untilSignalOrFailure: how a started process ends', () => {
  const log = pino({ level: 'silent' });
  const signals = (): EventEmitter & Signals => new EventEmitter() as EventEmitter & Signals;

  it('exits 1 when a service fails after it started (a controller whose start failed: manager.done rejected)', async () => {
    let fail!: (err: Error) => void;
    const failed = new Promise<never>((_, reject) => (fail = reject));
    const services: Service[] = [{ name: 'api', stop: async () => {} }, { name: 'controller', stop: async () => {}, failed }];
    const s = signals();
    const code = untilSignalOrFailure(services, log, s);
    fail(new Error('controller deployment: caches did not sync within 120000 ms'));
    expect(await code).toBe(1);
    expect(s.listenerCount('SIGTERM')).toBe(0);
  });

  it('exits 0 on SIGTERM or SIGINT', async () => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const s = signals();
      const code = untilSignalOrFailure([{ name: 'controller', stop: async () => {}, failed: new Promise<never>(() => {}) }], log, s);
      s.emit(sig);
      expect(await code).toBe(0);
    }
  });
});
