// The command tree in-process with --dry-run (nothing is sent): every hearth example of the
// README's firectl table parses and makes its request; usage errors exit 2 and name what is wrong.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { bashCompletion } from './completion.js';
import { run } from './main.js';
import { buildProgram } from './program.js';

let out = '';
let err = '';
const saved = { ...process.env };

beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  for (const k of Object.keys(process.env)) if (k.startsWith('HEARTH_')) delete process.env[k];
  process.env.HEARTH_CONFIG = '/nonexistent/hearth-auth.ini';
  process.env.HEARTH_ACCOUNT_ID = 'acme';
  process.env.HEARTH_API_KEY = 'hearth_ABCDEFGHIJKL_notarealsecret';
});
afterEach(() => {
  vi.restoreAllMocks();
  process.env = { ...saved };
  process.exitCode = undefined;
});

/** `a "b c" d` → ['a', 'b c', 'd'] */
function words(cmd: string): string[] {
  return [...cmd.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
const table = readme.slice(readme.indexOf('## firectl → hearth'), readme.indexOf('## Layout'));
const examples = [...table.matchAll(/`hearth ([^`]+)`/g)].map((m) => m[1]!);

describe('the README firectl → hearth table', () => {
  it('has an example for each documented firectl verb', () => {
    expect(examples.length).toBeGreaterThan(45);
    for (const verb of ['create deployment', 'load-lora', 'unload-lora', 'create sftj', 'create dataset', 'list quotas', 'undelete deployment', 'get-logs', 'whoami']) {
      expect(examples.some((e) => e.startsWith(verb) || e.includes(` ${verb}`))).toBe(true);
    }
  });

  // The files the upload examples name, in a temporary folder.
  const dir = mkdtempSync(join(tmpdir(), 'hearth-cli-'));
  mkdirSync(join(dir, 'checkpoint'));
  writeFileSync(join(dir, 'checkpoint', 'adapter_config.json'), '{}');
  writeFileSync(join(dir, 'train.jsonl'), '{}\n');
  const local = (w: string): string => (w.startsWith('./') ? join(dir, w) : w);

  it.each(examples)('hearth %s', async (example) => {
    const code = await run([...words(example).map(local), '--dry-run']);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/^(GET|POST|PATCH|DELETE) http:\/\/127\.0\.0\.1:8080\/v1\/|^would save|^hearth /);
  });
});

describe('requests (dry run)', () => {
  it('create sftj: bare dataset ids are the account’s, the job id is a query parameter', async () => {
    expect(await run(['create', 'sftj', '--base-model', 'llama', '--dataset', 'ds', '--evaluation-dataset', 'accounts/x/datasets/ev', '--job-id', 'j1', '--epochs', '3', '--dry-run'])).toBe(0);
    const [line, ...body] = out.trim().split('\n');
    expect(line).toBe('POST http://127.0.0.1:8080/v1/accounts/acme/supervisedFineTuningJobs?supervisedFineTuningJobId=j1');
    expect(JSON.parse(body.join('\n'))).toEqual({ baseModel: 'llama', dataset: 'accounts/acme/datasets/ds', evaluationDataset: 'accounts/x/datasets/ev', epochs: 3 });
  });

  it('load-lora: full names for the model and the deployment', async () => {
    expect(await run(['load-lora', 'sql-lora', '--deployment', 'chat', '--public', '--dry-run', '-a', 'other'])).toBe(0);
    expect(out).toContain('POST http://127.0.0.1:8080/v1/accounts/other/deployedModels\n');
    expect(JSON.parse(out.slice(out.indexOf('{')))).toEqual({ model: 'accounts/other/models/sql-lora', deployment: 'accounts/other/deployments/chat', public: true });
  });

  it('create deployment: firectl’s --unused-auto-delete-duration is the REST duration field', async () => {
    expect(await run(['create', 'deployment', 'm', '--unused-auto-delete-duration', '168h0m0s', '--dry-run'])).toBe(0);
    expect(JSON.parse(out.slice(out.indexOf('{')))).toEqual({ baseModel: 'm', unusedAutoDeleteDuration: '604800s' });
  });

  it('delete deployment --hard; flags and --base-url from anywhere on the line', async () => {
    expect(await run(['delete', 'deployment', 'accounts/acme/deployments/d1', '--hard', '--base-url', 'https://h.example/', '--dry-run'])).toBe(0);
    expect(out.trim()).toBe('DELETE https://h.example/v1/accounts/acme/deployments/d1?hard=true');
  });

  it('the key never appears in what is printed', async () => {
    await run(['create', 'deployment', 'm', '--dry-run']);
    await run(['whoami', '--dry-run']);
    expect(out + err).not.toContain('notarealsecret');
  });
});

describe('bad usage exits 2 and says what is wrong', () => {
  it.each([
    [['bogus'], /unknown command 'bogus'/],
    [['get', 'deployment'], /missing required argument 'id'/],
    [['create', 'deployment', 'm', '--min-replica-count', 'two'], /--min-replica-count: "two" is not an integer/],
    [['create', 'deployment', 'm', '--scale-to-zero-window', '5 minutes'], /--scale-to-zero-window: "5 minutes" is not a duration/],
    [['create', 'deployment', 'm', '--nope'], /unknown option '--nope'/],
    [['delete', 'user', 'alice'], /the REST API cannot delete users \(it serves: create, get, list, update\)/],
    [['create', 'quota', 'x'], /the REST API cannot create quotas/],
    [['create', 'deployed-model', 'x'], /use `hearth load-lora MODEL --deployment ID`/],
    [['list', 'deployments', '-o', 'xml'], /--output: "xml" is not one of/],
    [['create', 'sftj', '--base-model', 'b'], /--dataset: required/],
    [['create', 'dataset', 'd'], /give the file to upload/],
    [['update', 'deployment', 'd'], /give at least one field flag/],
    [['scale', 'deployment', 'd'], /required option '--replica-count <int>' not specified/],
    [['completion', 'fish'], /"fish" is not bash or zsh/],
    [['list', 'deployments', '--profile', 'nope'], /--profile: no profile "nope"/],
  ])('%j', async (argv, message) => {
    expect(await run([...argv, '--dry-run'])).toBe(2);
    expect(err).toMatch(message);
    expect(out).toBe('');
  });

  it('no account: exit 2 naming the flag, before anything is sent', async () => {
    delete process.env.HEARTH_ACCOUNT_ID;
    expect(await run(['list', 'deployments'])).toBe(2);
    expect(err).toMatch(/no account: pass --account-id/);
  });

  it('help and --version exit 0', async () => {
    expect(await run(['--version'])).toBe(0);
    expect(await run(['create', 'deployment', '--help'])).toBe(0);
    expect(out).toContain('--scale-to-zero-window <duration>');
  });
});

describe('shell completion', () => {
  const complete = (line: string): string[] => {
    const script = bashCompletion(buildProgram());
    const w = line.split(' ');
    const bash = `${script}\nCOMP_WORDS=(${w.map((x) => `'${x}'`).join(' ')}); COMP_CWORD=${w.length - 1}; _hearth; printf '%s\\n' "\${COMPREPLY[@]}"`;
    return execFileSync('bash', ['-c', bash], { encoding: 'utf8' }).trim().split('\n');
  };
  it('completes verbs, kinds and each command’s flags (aliases too)', () => {
    expect(complete('hearth cr')).toEqual(['create']);
    expect(complete('hearth create dep')).toEqual(['deployment', 'deployed-model']);
    expect(complete('hearth create deployment m --')).toContain('--min-replica-count');
    expect(complete('hearth create deployment m --scale-to')).toEqual(['--scale-to-zero-window']);
    expect(complete('hearth list fine-tuning-jobs --no-')).toEqual(['--no-paginate']);
    expect(complete('hearth load-lora x --dep')).toEqual(['--deployment']);
  });
  it('zsh gets the same through bashcompinit', async () => {
    expect(await run(['completion', 'zsh'])).toBe(0);
    expect(out).toMatch(/^#compdef hearth\n/);
    expect(out).toContain('bashcompinit');
    expect(out).toContain('complete -F _hearth hearth');
  });
});
