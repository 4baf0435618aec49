// Profiles, as firectl keeps them (~/.fireworks/auth.ini with api_key and account_id), mirrored to
// ~/.hearth/auth.ini with the base URL too:
//
//   api_key = hearth_…            ; top-level keys: the `default` profile
//   account_id = acme
//   base_url = https://hearth.example.com
//   [staging]
//   api_key = …
//
// Precedence, per setting: the flag, then the environment (HEARTH_API_KEY, HEARTH_ACCOUNT_ID,
// HEARTH_BASE_URL; HEARTH_PROFILE picks the profile), then the profile, then the default. The key
// is never printed: whoami says where it came from, not what it is.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'ini';
import { UsageError } from './errors.js';

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080';
export const DEFAULT_PROFILE = 'default';

export interface ProfileValues {
  api_key?: string;
  account_id?: string;
  base_url?: string;
}

/** Where each resolved setting came from (whoami prints this, never the key itself). */
export type Source = 'flag' | 'env' | `profile ${string}` | 'default' | 'unset';

export interface Settings {
  profile: string;
  apiKey?: string;
  accountId?: string;
  baseUrl: string;
  sources: { apiKey: Source; accountId: Source; baseUrl: Source };
  file: string;
}

export interface GlobalFlags {
  apiKey?: string;
  accountId?: string;
  baseUrl?: string;
  profile?: string;
}

/** `$HEARTH_CONFIG` or `~/.hearth/auth.ini` (HOME from the environment, so tests can move it). */
export function authFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HEARTH_CONFIG) return env.HEARTH_CONFIG;
  return join(env.HOME || homedir(), '.hearth', 'auth.ini');
}

/** Every profile of the file: top-level keys are `default`'s, a [default] section wins over them. */
export function readProfiles(file: string): Record<string, ProfileValues> {
  if (!existsSync(file)) return {};
  const parsed = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const top: ProfileValues = {};
  const out: Record<string, ProfileValues> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (v && typeof v === 'object') out[k] = v as ProfileValues;
    else (top as Record<string, unknown>)[k] = v;
  }
  out[DEFAULT_PROFILE] = { ...top, ...(out[DEFAULT_PROFILE] ?? {}) };
  return out;
}

function pick(flag: string | undefined, env: string | undefined, profile: string | undefined, profileName: string): { value?: string; source: Source } {
  if (flag) return { value: flag, source: 'flag' };
  if (env) return { value: env, source: 'env' };
  if (profile) return { value: profile, source: `profile ${profileName}` };
  return { source: 'unset' };
}

/**
 * How `--wait` polls: HEARTH_POLL_MS (default 2000) and HEARTH_WAIT_TIMEOUT_SECONDS (default
 * none: 0). Read here with the other HEARTH_* variables, the CLI's one reader of its environment.
 */
export function waitTiming(env: NodeJS.ProcessEnv = process.env): { pollMs: number; waitTimeoutMs: number } {
  const poll = Number(env.HEARTH_POLL_MS);
  const timeout = Number(env.HEARTH_WAIT_TIMEOUT_SECONDS);
  return { pollMs: poll > 0 ? poll : 2000, waitTimeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout * 1000 : 0 };
}

/** The settings one invocation runs with. An unknown named profile is a usage error. */
export function resolveSettings(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): Settings {
  const file = authFile(env);
  const profiles = readProfiles(file);
  const name = flags.profile || env.HEARTH_PROFILE || DEFAULT_PROFILE;
  if (name !== DEFAULT_PROFILE && !profiles[name]) throw new UsageError(`--profile: no profile "${name}" in ${file}`);
  const p = profiles[name] ?? {};
  const apiKey = pick(flags.apiKey, env.HEARTH_API_KEY, p.api_key, name);
  const accountId = pick(flags.accountId, env.HEARTH_ACCOUNT_ID, p.account_id, name);
  const base = pick(flags.baseUrl, env.HEARTH_BASE_URL, p.base_url, name);
  return {
    profile: name,
    apiKey: apiKey.value,
    accountId: accountId.value,
    baseUrl: (base.value ?? DEFAULT_BASE_URL).replace(/\/+$/, ''),
    sources: { apiKey: apiKey.source, accountId: accountId.source, baseUrl: base.value ? base.source : 'default' },
    file,
  };
}

/** Sets keys of one profile (creating the file 0600, its folder 0700); other profiles are kept. */
export function writeProfile(file: string, name: string, values: ProfileValues): void {
  const all = existsSync(file) ? (parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  if (name === DEFAULT_PROFILE && !all[DEFAULT_PROFILE]) {
    for (const [k, v] of Object.entries(values)) if (v !== undefined) all[k] = v;
  } else {
    const section = { ...((all[name] as ProfileValues | undefined) ?? {}) };
    for (const [k, v] of Object.entries(values)) if (v !== undefined) (section as Record<string, string>)[k] = v;
    all[name] = section;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, stringify(all), { mode: 0o600 });
  chmodSync(file, 0o600);
}
