import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { DEFAULT_BASE_URL, authFile, readProfiles, resolveSettings, waitTiming, writeProfile } from './profile.js';

const home = (): string => mkdtempSync(join(tmpdir(), 'hearth-cli-'));

describe('profiles', () => {
  it('lives in ~/.hearth/auth.ini (HOME from the environment; HEARTH_CONFIG wins)', () => {
    expect(authFile({ HOME: '/h' })).toBe('/h/.hearth/auth.ini');
    expect(authFile({ HOME: '/h', HEARTH_CONFIG: '/etc/x.ini' })).toBe('/etc/x.ini');
  });

  it('top-level keys are the default profile; sections are named profiles', () => {
    const h = home();
    const file = join(h, 'auth.ini');
    writeFileSync(file, 'api_key = k0\naccount_id = acme\n[staging]\napi_key = k1\naccount_id = acme-stg\nbase_url = https://stg.example/\n');
    expect(readProfiles(file)).toEqual({ default: { api_key: 'k0', account_id: 'acme' }, staging: { api_key: 'k1', account_id: 'acme-stg', base_url: 'https://stg.example/' } });
    const s = resolveSettings({ profile: 'staging' }, { HEARTH_CONFIG: file });
    expect(s).toMatchObject({ profile: 'staging', apiKey: 'k1', accountId: 'acme-stg', baseUrl: 'https://stg.example' });
    expect(s.sources).toEqual({ apiKey: 'profile staging', accountId: 'profile staging', baseUrl: 'profile staging' });
  });

  it('flag > environment > profile > default, per setting', () => {
    const h = home();
    writeProfile(join(h, '.hearth', 'auth.ini'), 'default', { api_key: 'from-file', account_id: 'file-acct' });
    const env = { HOME: h, HEARTH_ACCOUNT_ID: 'env-acct', HEARTH_API_KEY: 'from-env' };
    const s = resolveSettings({ apiKey: 'from-flag' }, env);
    expect(s).toMatchObject({ apiKey: 'from-flag', accountId: 'env-acct', baseUrl: DEFAULT_BASE_URL });
    expect(s.sources).toEqual({ apiKey: 'flag', accountId: 'env', baseUrl: 'default' });
    expect(resolveSettings({}, { HOME: h })).toMatchObject({ apiKey: 'from-file', accountId: 'file-acct', sources: { apiKey: 'profile default' } });
  });

  it('an unknown named profile is a usage error naming the flag', () => {
    expect(() => resolveSettings({ profile: 'nope' }, { HOME: home() })).toThrow(UsageError);
    expect(() => resolveSettings({}, { HOME: home(), HEARTH_PROFILE: 'nope' })).toThrow(/--profile: no profile "nope"/);
  });

  it('writeProfile keeps other profiles and makes the file 0600', () => {
    const file = join(home(), '.hearth', 'auth.ini');
    writeProfile(file, 'default', { api_key: 'a', account_id: 'x' });
    writeProfile(file, 'staging', { api_key: 'b', base_url: 'http://s' });
    writeProfile(file, 'default', { api_key: 'c' });
    expect(readProfiles(file)).toEqual({ default: { api_key: 'c', account_id: 'x' }, staging: { api_key: 'b', base_url: 'http://s' } });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^api_key=c$/m);
  });
});

describe('waitTiming', () => {
  it('polls every 2 s with no time limit unless HEARTH_POLL_MS / HEARTH_WAIT_TIMEOUT_SECONDS say otherwise', () => {
    expect(waitTiming({})).toEqual({ pollMs: 2000, waitTimeoutMs: 0 });
    expect(waitTiming({ HEARTH_POLL_MS: '300', HEARTH_WAIT_TIMEOUT_SECONDS: '150' })).toEqual({ pollMs: 300, waitTimeoutMs: 150_000 });
    expect(waitTiming({ HEARTH_POLL_MS: 'x', HEARTH_WAIT_TIMEOUT_SECONDS: '-1' })).toEqual({ pollMs: 2000, waitTimeoutMs: 0 });
  });
});
