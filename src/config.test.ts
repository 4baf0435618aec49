import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, aggregatorStaleMs, configTable, configVariables, datasetSettings, gatewayConfig, parseConfig } from './config.js';
import { GatewayConfig, parseLoopbackHostPort, simulatedDialTarget } from './gateway/config.js';
import type { Endpoint } from './gateway/upstreams.js';

const endpoint = (address: string, port: number) => ({ address, port }) as unknown as Endpoint;

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    parseConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a config error');
}

describe('parseConfig', () => {
  it('reads its configuration from the environment with the documented defaults', () => {
    expect(parseConfig({})).toMatchObject({ server: { port: 8080, host: '127.0.0.1', rateLimitRps: 50 }, log: { level: 'info' } });
    expect(parseConfig({ PORT: '9000', DATABASE_URL: 'postgres://x/y' })).toMatchObject({ server: { port: 9000 }, database: { url: 'postgres://x/y' } });
    expect(() => parseConfig({ PORT: 'http', LOG_LEVEL: 'loud' })).toThrow(/PORT[\s\S]*LOG_LEVEL/);
    // The autoscaler's operator settings: a 5m floor under scaleToZeroWindow; the override is for tests and demos.
    expect(parseConfig({})).toMatchObject({ autoscaler: { minScaleToZeroWindow: '5m' } });
    expect(parseConfig({}).autoscaler.scaleToZeroWindowOverride).toBeUndefined();
    expect(parseConfig({ HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE: '20s' })).toMatchObject({ autoscaler: { scaleToZeroWindowOverride: '20s' } });
    expect(() => parseConfig({ HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE: 'soon', HEARTH_MIN_SCALE_TO_ZERO_WINDOW: '5' })).toThrow(/HEARTH_MIN_SCALE_TO_ZERO_WINDOW[\s\S]*HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE|HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE[\s\S]*HEARTH_MIN_SCALE_TO_ZERO_WINDOW/);
  });

  it('names every bad variable with its rule, one line each', () => {
    const err = configError({ PORT: 'http', LOG_LEVEL: 'loud', HEARTH_CONTROLLER_WORKERS: '0' });
    expect(err.problems.map((p) => p.split(':')[0])).toEqual(['PORT', 'LOG_LEVEL', 'HEARTH_CONTROLLER_WORKERS']);
    expect(err.problems[2]).toMatch(/^HEARTH_CONTROLLER_WORKERS: .*>=1/);
    expect(err.message).toMatch(/^invalid configuration:\n {2}PORT: /);
  });

  it('counts an empty variable as unset', () => {
    expect(parseConfig({ PORT: '', HEARTH_PAGE_TOKEN_SECRET: '', HEARTH_GATEWAY_PORT: '' })).toMatchObject({ server: { port: 8080 }, gateway: { port: 8081 } });
    expect(parseConfig({ HEARTH_PAGE_TOKEN_SECRET: '' }).server.pageTokenSecret).toBeUndefined();
  });

  it('reads the load transport settings: a token of 16+ characters, gateway admin URLs as a comma-separated list', () => {
    expect(parseConfig({ HEARTH_GATEWAY_LOAD_URLS: 'http://127.0.0.1:9091, http://10.0.0.7:9091/,' })).toMatchObject({
      load: { gatewayUrls: ['http://127.0.0.1:9091', 'http://10.0.0.7:9091/'] },
    });
    expect(() => parseConfig({ HEARTH_GATEWAY_LOAD_URLS: 'gateway:9091' })).toThrow(/HEARTH_GATEWAY_LOAD_URLS/);
    expect(() => parseConfig({ HEARTH_INTERNAL_TOKEN: 'short' })).toThrow(/HEARTH_INTERNAL_TOKEN/);
    expect(parseConfig({ HEARTH_INTERNAL_TOKEN: 'x'.repeat(16), HEARTH_GATEWAY_LOAD_SELECTOR: 'kubernetes.io/service-name=hearth-gateway-admin' })).toMatchObject({
      load: { gatewaySelector: 'kubernetes.io/service-name=hearth-gateway-admin' },
    });
  });

  it('reads the artifact store: the filesystem by default, S3 with a bucket, keys in pairs', () => {
    expect(parseConfig({}).artifacts).toMatchObject({ store: 'fs', dir: '.hearth/artifacts', s3Region: 'us-east-1', s3ForcePathStyle: true, s3CreateBucket: false });
    expect(parseConfig({ HEARTH_ARTIFACT_STORE: 's3', HEARTH_S3_BUCKET: 'models', HEARTH_S3_ENDPOINT: 'http://127.0.0.1:7070', HEARTH_S3_FORCE_PATH_STYLE: 'false' }).artifacts).toMatchObject({
      store: 's3',
      s3Bucket: 'models',
      s3Endpoint: 'http://127.0.0.1:7070',
      s3ForcePathStyle: false,
    });
    expect(configError({ HEARTH_ARTIFACT_STORE: 's3' }).problems).toEqual(['HEARTH_S3_BUCKET: required with HEARTH_ARTIFACT_STORE=s3']);
    expect(configError({ HEARTH_S3_ACCESS_KEY_ID: 'k' }).problems).toEqual(['HEARTH_S3_SECRET_ACCESS_KEY: HEARTH_S3_ACCESS_KEY_ID and HEARTH_S3_SECRET_ACCESS_KEY go together']);
    expect(configError({ HEARTH_ARTIFACT_STORE: 'gcs', HEARTH_S3_BUCKET: 'Not_A_Bucket' }).problems.map((p) => p.split(':')[0])).toEqual(['HEARTH_ARTIFACT_STORE', 'HEARTH_S3_BUCKET']);
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
    expect(parseConfig({}).controller.selector).toBeUndefined();
    expect(parseConfig({ HEARTH_CONTROLLER_SELECTOR: 'hearth.dev/shard=a,team in (x, y)' })).toMatchObject({ controller: { selector: 'hearth.dev/shard=a,team in (x, y)' } });
    expect(() => parseConfig({ HEARTH_CONTROLLER_SELECTOR: 'a=b;rm -rf' })).toThrow(/HEARTH_CONTROLLER_SELECTOR/);
  });
});

describe('HEARTH_MODEL_SERVER_CONFIG_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-msc-'));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('unset: no override (the defaults; CPU deployments have no runtime)', () => {
    expect(parseConfig({}).modelServer.configFile).toBeUndefined();
  });

  it('reads a YAML file: the CPU runtime with its nodes and tolerations', () => {
    const path = file('ok.yaml', 'servers:\n  cpu:\n    image: registry.local/vllm-cpu:v1\n    cpu: "4"\n    memory: 16Gi\n    nodeSelector: { hearth.dev/node-kind: cpu }\n    tolerations: [{ key: dedicated, operator: Exists, effect: NoSchedule }]\n');
    expect(parseConfig({ HEARTH_MODEL_SERVER_CONFIG_FILE: path }).modelServer.configFile?.servers?.cpu).toMatchObject({ image: 'registry.local/vllm-cpu:v1', cpu: '4', nodeSelector: { 'hearth.dev/node-kind': 'cpu' } });
  });

  it('refuses a bad file at start, naming the variable, the file and every bad field', () => {
    const path = file('bad.yaml', 'servers:\n  cpu:\n    cpu: lots\n    memory: 1Gi\n');
    expect(() => parseConfig({ HEARTH_MODEL_SERVER_CONFIG_FILE: path })).toThrow(ConfigError);
    const problems = (() => {
      try {
        parseConfig({ HEARTH_MODEL_SERVER_CONFIG_FILE: path });
        return [];
      } catch (e) {
        return (e as ConfigError).problems;
      }
    })();
    expect(problems).toEqual([
      `HEARTH_MODEL_SERVER_CONFIG_FILE: ${path}: servers.cpu.cpu: a Kubernetes quantity, e.g. 8, 500m, 64Gi`,
    ]);
    expect(() => parseConfig({ HEARTH_MODEL_SERVER_CONFIG_FILE: join(dir, 'missing.yaml') })).toThrow(/HEARTH_MODEL_SERVER_CONFIG_FILE: .*missing\.yaml: ENOENT/);
  });
});

describe('the gateway section', () => {
  it('has the gateway schema\'s defaults; the id defaults to HOSTNAME; the internal token comes from the load transport', () => {
    expect(gatewayConfig(parseConfig({}))).toEqual(GatewayConfig.parse({}));
    expect(gatewayConfig(parseConfig({ HOSTNAME: 'hearth-gateway-7d9f' })).gatewayId).toBe('hearth-gateway-7d9f');
    expect(gatewayConfig(parseConfig({ HOSTNAME: 'pod', HEARTH_GATEWAY_ID: 'gw-1' })).gatewayId).toBe('gw-1');
    expect(gatewayConfig(parseConfig({ HEARTH_INTERNAL_TOKEN: 't'.repeat(16) })).internalToken).toBe('t'.repeat(16));
    expect(gatewayConfig(parseConfig({ HEARTH_GATEWAY_ADMIN_PORT: '9091', HEARTH_GATEWAY_HOLD_TIMEOUT_MS: '1500' }))).toMatchObject({ adminPort: 9091, holdTimeoutMs: 1500 });
  });

  it('sizes the load reports\' staleness from the report interval: 5 intervals, at least 10 s', () => {
    expect(aggregatorStaleMs(parseConfig({}))).toBe(10_000);
    expect(aggregatorStaleMs(parseConfig({ HEARTH_GATEWAY_REPORT_INTERVAL_MS: '4000' }))).toBe(20_000);
  });
});

// Moved from src/gateway/config.test.ts with the environment reading (gatewayConfigFromEnv → parseConfig).
describe('HEARTH_GATEWAY_SIMULATED_UPSTREAM (demo/simulation only)', () => {
  it('unset: no simulated upstream, endpoints are dialled as they are', () => {
    const cfg = gatewayConfig(parseConfig({}));
    expect(cfg.simulatedUpstream).toBeUndefined();
    expect(simulatedDialTarget(cfg)).toBeUndefined();
    expect(gatewayConfig(parseConfig({ HEARTH_GATEWAY_SIMULATED_UPSTREAM: '' })).simulatedUpstream).toBeUndefined();
  });

  it('a loopback host:port maps every endpoint to that address', () => {
    const cfg = gatewayConfig(parseConfig({ HEARTH_GATEWAY_SIMULATED_UPSTREAM: '127.0.0.1:41234' }));
    expect(cfg.simulatedUpstream).toBe('127.0.0.1:41234');
    const dial = simulatedDialTarget(cfg)!;
    expect(dial(endpoint('10.244.3.7', 8000))).toEqual({ host: '127.0.0.1', port: 41234 });
    expect(dial(endpoint('fd00::5', 9000))).toEqual({ host: '127.0.0.1', port: 41234 });
  });

  it.each([
    ['a routable IPv4 host', '10.0.0.5:8000'],
    ['a public IPv4 host', '8.8.8.8:53'],
    ['the unspecified address', '0.0.0.0:8000'],
    ['a non-loopback IPv6 host', '[fd00::1]:8000'],
    ['the IPv6 unspecified address', '[::]:8000'],
    ['a DNS name', 'model.example.com:8000'],
    ['a name that starts with localhost', 'localhost.example.com:8000'],
    ['no port', '127.0.0.1'],
    ['port 0', '127.0.0.1:0'],
    ['a port above 65535', '127.0.0.1:65536'],
    ['a URL instead of host:port', 'http://127.0.0.1:8000'],
    ['a path after the port', '127.0.0.1:8000/v1'],
    ['unbracketed IPv6', '::1:8000'],
  ])('refuses %s (%s) with an error naming the variable', (_what, value) => {
    expect(parseLoopbackHostPort(value)).toBeUndefined();
    const err = configError({ HEARTH_GATEWAY_SIMULATED_UPSTREAM: value });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^HEARTH_GATEWAY_SIMULATED_UPSTREAM: demo\/simulation only; must be <loopback host>:<port>/);
    expect(err.message).toContain('HEARTH_GATEWAY_SIMULATED_UPSTREAM');
  });

  it('every bad gateway variable is named, one line each', () => {
    const err = configError({ HEARTH_GATEWAY_SIMULATED_UPSTREAM: '10.0.0.5:8000', HEARTH_GATEWAY_PORT: 'eighty' });
    expect(err.problems.map((p) => p.split(':')[0]).sort()).toEqual(['HEARTH_GATEWAY_PORT', 'HEARTH_GATEWAY_SIMULATED_UPSTREAM']);
  });

  it('a parsed config parses again unchanged (startGateway re-parses what main.ts passes)', () => {
    const cfg = gatewayConfig(parseConfig({ HEARTH_GATEWAY_SIMULATED_UPSTREAM: '[::1]:8000', HEARTH_GATEWAY_PORT: '0' }));
    expect(GatewayConfig.parse(cfg)).toEqual(cfg);
  });
});

describe('one schema, one place that reads the environment', () => {
  it('names each variable once', () => {
    const names = configVariables().map((v) => v.variable.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('HEARTH_GATEWAY_SIMULATED_UPSTREAM');
  });

  it("README.md's configuration table is the schema's: every variable, its default and description", () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const begin = '<!-- config-table:begin -->\n';
    const end = '<!-- config-table:end -->';
    const table = readme.slice(readme.indexOf(begin) + begin.length, readme.indexOf(end));
    expect(readme).toContain(begin);
    // On a difference: `npm run gen:config-table` rewrites the table from src/config.ts.
    expect(table).toBe(configTable());
  });

  it('no module of the server under src/ but main.ts reads process.env (main.ts passes it to parseConfig)', () => {
    const src = import.meta.dirname;
    // src/cli is another program (the `hearth` CLI, bin/hearth.mjs) with its own settings: flags,
    // then HEARTH_* variables, then the profile file (cli/profile.ts), as firectl's.
    const readers = (readdirSync(src, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('cli/'))
      .filter((f) => readFileSync(join(src, f), 'utf8').includes('process.env'))
      .map((f) => relative(src, join(src, f)));
    expect(readers).toEqual(['main.ts']);
  });
});
