// The `hearth` CLI end to end (issue 17): the real binary (bin/hearth.mjs, a child process) against
// Hearth's REST API listening on a port, backed by the simulated cluster (real kube-apiserver,
// scheduler, KWOK GPU nodes), a real PostgreSQL and the controller manager (Deployment +
// DeployedModel controllers), wired as lora.test.ts wires them. Each documented workflow the CLI
// serves today: sign in with a profile, create a deployment --wait until READY, upload an adapter
// model and load it --wait until DEPLOYED, upload a dataset with progress (plain lines, and a bar on
// a pseudo-terminal through util-linux `script`), follow a batch job's logs and stop with Ctrl-C —
// checking stdout, stderr and exit codes (0, 1 naming the field, 2 bad usage, 130 Ctrl-C).
//
// Simulation: one model-server fixture per KWOK pod (test/support/fixture-fleet.ts) that the
// DeployedModel controller dials; the CLI itself only ever speaks HTTP to the API.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { LABELS } from '../../src/crds/group.js';
import { ADAPTER_CONFIG, safetensors } from '../support/adapter-files.js';
import { callApi } from '../support/api.js';
import { startClusterHearth, type ClusterHearth } from '../support/cluster-hearth.js';
import { testKubeConfig } from '../support/env.js';
import { FixtureFleet } from '../support/fixture-fleet.js';
import { dumpNamespace, waitFor } from '../support/wait.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'hearth.mjs');
const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `cli-${suffix}`;
const NS = `acct-${ACCOUNT}`;
const DEP = 'chat';
const dbName = `hearth_t_cli_${suffix}`;

const kc = testKubeConfig();

/** Hearth in-process (the CLI's `hearth` is the command below). */
let cluster: ClusterHearth;
let app: FastifyInstance;
let fleet: FixtureFleet;
let apiKey = '';
let baseUrl = '';
/** The CLI user's home: ~/.hearth/auth.ini is written there by `hearth set-api-key`. */
const home = mkdtempSync(join(tmpdir(), 'hearth-cli-home-'));
const files = mkdtempSync(join(tmpdir(), 'hearth-cli-files-'));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The CLI's environment: the home (its profile), fast polling, a bound on every wait; no key. */
function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, HEARTH_POLL_MS: '300', HEARTH_WAIT_TIMEOUT_SECONDS: '150', ...extra };
}

/**
 * Runs `hearth args…`; `interruptAfterMs` sends SIGINT (Ctrl-C) once that much has passed,
 * `interruptOn` as soon as stderr matches (e.g. the first progress line of a --wait).
 */
function hearth(args: string[], o: { env?: Record<string, string>; interruptAfterMs?: number; interruptOn?: RegExp; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(o.env), cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    let interrupted = false;
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (o.interruptOn && !interrupted && o.interruptOn.test(stderr)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    const kill = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 170_000);
    const int = o.interruptAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGINT'), o.interruptAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(kill);
      if (int) clearTimeout(int);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const sh = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs `hearth args…` on a pseudo-terminal (util-linux `script`): what a user at a terminal sees. */
function hearthOnPty(args: string[]): Promise<Run> {
  const command = [process.execPath, BIN, ...args].map(sh).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...cliEnv(), TERM: 'xterm', COLUMNS: '120' }, cwd: ROOT });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stdout += c.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr: '' }));
  });
}

const rest = (method: string, path: string, body?: unknown) => callApi(app, method, `/v1/accounts/${ACCOUNT}${path}`, apiKey, body);

/** The output of a failed expectation: what the CLI printed and the namespace's state. */
async function explain(r: Run): Promise<string> {
  return `exit ${r.code} ${r.signal ?? ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}\n--- state\n${JSON.stringify(await dumpNamespace(kc, NS).catch(() => 'n/a'), null, 2).slice(0, 6000)}`;
}

/** A chat JSONL dataset of `n` examples. */
function dataset(path: string, n: number): void {
  const line = JSON.stringify({ messages: [{ role: 'user', content: 'What is the capital of France? '.repeat(8) }, { role: 'assistant', content: 'Paris. '.repeat(20) }] });
  writeFileSync(path, `${Array.from({ length: n }, () => line).join('\n')}\n`);
}

beforeAll(async () => {
  fleet = new FixtureFleet(kc, NS, DEP, { model: BASE });
  fleet.start();
  cluster = await startClusterHearth({
    account: ACCOUNT,
    dbName,
    crdManager: 'hearth-cli-e2e',
    listen: true,
    manager: () => ({
      // Only this run's account: what the REST facade creates carries its label.
      deployment: { selector: `${LABELS.account}=${ACCOUNT}`, capacityRetryMs: 2000, quotaRetryMs: 2000 },
      deployedModel: { dial: fleet.dial, pollMs: 1_000 },
    }),
  });
  ({ app, apiKey, apiUrl: baseUrl } = cluster);

  // The adapter's files and the datasets, as a user has them on disk.
  mkdirSync(join(files, 'sql-lora'));
  writeFileSync(join(files, 'sql-lora', 'adapter_config.json'), ADAPTER_CONFIG);
  writeFileSync(join(files, 'sql-lora', 'adapter_model.safetensors'), safetensors());
  dataset(join(files, 'train.jsonl'), 200);
  dataset(join(files, 'big.jsonl'), 20_000);
  writeFileSync(join(files, 'bad.jsonl'), '{"messages": "not a list"}\n{"nope": 1}\n');
}, 180_000);

afterAll(async () => {
  await cluster?.close();
  await fleet?.stop();
}, 60_000);

describe('the hearth CLI against Hearth on the simulated cluster', () => {
  it('set-api-key writes the profile (0600); whoami names the account and user, never the key', async () => {
    const saved = await hearth(['set-api-key', apiKey, '--base-url', baseUrl]);
    expect(saved.code, await explain(saved)).toBe(0);
    const ini = readFileSync(join(home, '.hearth', 'auth.ini'), 'utf8');
    expect(statSync(join(home, '.hearth', 'auth.ini')).mode & 0o777).toBe(0o600);
    expect(ini).toContain(`account_id=${ACCOUNT}`);
    expect(ini).toContain(`base_url=${baseUrl}`);

    const who = await hearth(['whoami']);
    expect(who.code, await explain(who)).toBe(0);
    expect(who.stdout).toContain(`Account:  ${ACCOUNT}`);
    expect(who.stdout).toContain(`admin@${ACCOUNT}.example (admin)`);
    expect(who.stdout).toContain('set (from profile default)');
    expect(who.stdout + who.stderr).not.toContain(apiKey.slice(20));

    // The environment wins over the profile: a made-up key is refused by the server (exit 1).
    const bad = await hearth(['list', 'deployments'], { env: { HEARTH_API_KEY: 'hearth_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBCCCCCC' } });
    expect(bad.code, await explain(bad)).toBe(1);
    expect(bad.stderr).toMatch(/^error: UNAUTHENTICATED: /);
    expect(bad.stderr).not.toContain('BBBBBBBB');
  }, 60_000);

  it('create deployment --wait: one line per change until READY; -o json is the REST resource', async () => {
    const args = ['create', 'deployment', BASE, '--deployment-id', DEP, '--accelerator-type', 'AMD_MI300X_192GB', '--accelerator-count', '1'];
    const r = await hearth([...args, '--min-replica-count', '1', '--max-replica-count', '2', '--scale-to-zero-window', '10m', '--enable-addons', '--wait', '-o', 'json']);
    expect(r.code, await explain(r)).toBe(0);
    const lines = r.stderr.trim().split('\n');
    for (const l of lines) expect(l).toMatch(/^[A-Z_]+ · replicas \d\/\d ready/);
    expect(lines.some((l) => /^(CREATING|UPDATING|STATE_UNSPECIFIED) · replicas 0\/\d ready/.test(l)), r.stderr).toBe(true);
    expect(lines.at(-1)).toMatch(/^READY · replicas 1\/1 ready/);
    for (let i = 1; i < lines.length; i++) expect(lines[i]).not.toBe(lines[i - 1]); // a line per change, never the same twice in a row
    const printed = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(printed).toMatchObject({ name: `accounts/${ACCOUNT}/deployments/${DEP}`, state: 'READY', minReplicaCount: 1, autoscalingPolicy: { scaleToZeroWindow: '600s' } });

    // get -o json / -o yaml: the REST resource verbatim; the table names the columns.
    const viaRest = (await rest('GET', `/deployments/${DEP}`)).body;
    const json = await hearth(['get', 'deployment', DEP, '-o', 'json']);
    expect(JSON.parse(json.stdout)).toEqual(viaRest);
    const yaml = await hearth(['list', 'deployments', '-o', 'yaml']);
    expect(parseYaml(yaml.stdout)).toEqual((await rest('GET', '/deployments')).body);
    const table = await hearth(['list', 'deployments']);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+BASE MODEL\s+STATE\s+REGION\s+ACCELERATOR\s+READY\/DESIRED\s+CREATED$/);
    expect(table.stdout).toMatch(new RegExp(`^${DEP}\\s+${BASE}\\s+READY\\s+\\S+\\s+1x AMD_MI300X_192GB\\s+1/1`, 'm'));
  }, 180_000);

  it('Ctrl-C during create deployment --wait stops the waiting (exit 130), never the deployment', async () => {
    const id = 'ctrl-c';
    const r = await hearth(['create', 'deployment', BASE, '--deployment-id', id, '--accelerator-type', 'AMD_MI300X_192GB', '--min-replica-count', '1', '--wait'], { interruptOn: /replicas \d\/\d ready/ });
    expect(r.code, await explain(r)).toBe(130);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`stopped waiting (Ctrl-C); deployment ${id} goes on: \`hearth get deployment ${id}\``);
    // The deployment was neither cancelled nor deleted: it goes on to READY by itself.
    await waitFor('the interrupted deployment to become READY', async () => (await rest('GET', `/deployments/${id}`)).body.state === 'READY', { timeoutMs: 90_000, intervalMs: 500 });
    const gone = await hearth(['delete', 'deployment', id, '--hard']);
    expect(gone.code, await explain(gone)).toBe(0);
    expect(gone.stdout).toBe(`Deleted deployment ${id}.\n`);
  }, 150_000);

  it('create model with its files, load-lora --wait until DEPLOYED, unload-lora --wait; without --deployment the one addon deployment', async () => {
    const created = await hearth(['create', 'model', 'sql-lora', join(files, 'sql-lora'), '--base-model', BASE, '--lora-rank', '8', '--target-modules', 'q_proj,v_proj']);
    expect(created.code, await explain(created)).toBe(0);
    expect(created.stdout).toMatch(/^state:\s+READY$/m);
    expect(created.stderr).toMatch(/uploading adapter_model\.safetensors: .* \/ .* · .*\/s · ETA/);

    const loaded = await hearth(['load-lora', 'sql-lora', '--deployment', DEP, '--wait']);
    expect(loaded.code, await explain(loaded)).toBe(0);
    expect(loaded.stderr).toContain(`accounts/${ACCOUNT}/models/sql-lora on ${DEP} · DEPLOYED`);
    expect(loaded.stdout).toMatch(/^state:\s+DEPLOYED$/m);
    expect(loaded.stdout).toMatch(/^default:\s+true$/m);

    const listed = await hearth(['list', 'deployed-models']);
    expect(listed.stdout).toMatch(new RegExp(`accounts/${ACCOUNT}/models/sql-lora\\s+${DEP}\\s+DEPLOYED`));

    const twice = await hearth(['load-lora', 'sql-lora', '--deployment', 'no-such-dep']);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/^error: (NOT_FOUND|INVALID_ARGUMENT): .*no-such-dep/);

    const dms = (await rest('GET', '/deployedModels')).body.deployedModels as { name: string }[];
    expect(dms).toHaveLength(1);
    const dmId = dms[0]!.name.split('/').pop();
    const unloaded = await hearth(['unload-lora', 'sql-lora', '--deployment', DEP, '--wait']);
    expect(unloaded.code, await explain(unloaded)).toBe(0);
    expect(unloaded.stdout).toMatch(new RegExp(`^Unloaded accounts/${ACCOUNT}/models/sql-lora from ${DEP}`));
    expect(unloaded.stderr.trim().split('\n').at(-1)).toBe(`accounts/${ACCOUNT}/models/sql-lora on ${DEP} · unloaded`);
    expect((await rest('GET', `/deployedModels/${dmId}`)).status).toBe(404); // --wait returned once it was gone
    const again = await hearth(['unload-lora', 'sql-lora']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is not loaded');

    // firectl's `load-lora my-model`: no --deployment, so the account's one deployment of the
    // adapter's base model with addons enabled (chat); unload-lora finds the one copy the same way.
    const picked = await hearth(['load-lora', 'sql-lora', '--wait']);
    expect(picked.code, await explain(picked)).toBe(0);
    expect(picked.stderr).toContain(`accounts/${ACCOUNT}/models/sql-lora on ${DEP} · DEPLOYED`);
    const dropped = await hearth(['unload-lora', 'sql-lora', '--wait']);
    expect(dropped.code, await explain(dropped)).toBe(0);
    expect(dropped.stderr).toContain(`sql-lora on ${DEP} · unloaded`);
    // No deployment of the adapter's base model has addons: exit 2 saying so, nothing created.
    const other = 'accounts/fireworks/models/llama-v3p1-70b-instruct';
    const big = await hearth(['create', 'model', 'big-lora', '--base-model', other, '--lora-rank', '8', '--target-modules', 'q_proj']);
    expect(big.code, await explain(big)).toBe(0);
    const none = await hearth(['load-lora', 'big-lora']);
    expect(none.code, await explain(none)).toBe(2);
    expect(none.stderr).toBe(`error: --deployment: required: no deployment of ${other} has addons enabled (create one with \`hearth create deployment ${other} --enable-addons\`)\n`);
    expect((await rest('GET', '/deployedModels')).body.deployedModels ?? []).toEqual([]);
  }, 180_000);

  it('create dataset: the upload with plain progress lines, then READY; a bad file names its lines (exit 1)', async () => {
    const r = await hearth(['create', 'dataset', 'big', join(files, 'big.jsonl'), '--display-name', 'Big']);
    expect(r.code, await explain(r)).toBe(0);
    const progress = r.stderr.trim().split('\n');
    expect(progress.length).toBeGreaterThanOrEqual(3);
    for (const l of progress) expect(l).toMatch(/^uploading big\.jsonl: [\d.]+ (B|KiB|MiB) \/ [\d.]+ MiB · [\d.]+ (B|KiB|MiB)\/s · ETA (\d+s|\d+m\d\ds|\?)$/);
    expect(progress.at(-1)).toMatch(/MiB \/ ([\d.]+) MiB .* ETA 0s$/);
    expect(r.stdout).toMatch(/^state:\s+READY$/m);
    expect(r.stdout).toMatch(/^exampleCount:\s+20000$/m);

    const bad = await hearth(['create', 'dataset', 'bad', join(files, 'bad.jsonl'), '-q']);
    expect(bad.code, await explain(bad)).toBe(1);
    expect(bad.stderr).toMatch(/^error: INVALID_ARGUMENT: .*line 1/);
    expect(bad.stderr).not.toContain('uploading'); // --quiet
  }, 120_000);

  it('progress on a pseudo-terminal: a bar redrawn in place', async () => {
    const r = await hearthOnPty(['create', 'dataset', 'on-a-tty', join(files, 'big.jsonl')]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain('\u2588'); // the bar's filled part
    expect(r.stdout.includes('\r') || r.stdout.includes('\u001b[')).toBe(true); // redrawn in place (carriage return / cursor control)
    expect(r.stdout).toMatch(/100% \| uploading big\.jsonl: [\d.]+ MiB \/ [\d.]+ MiB/);
    expect(r.stdout).toMatch(/state:\s+READY/);

    // A deployment's wait on a terminal: the bar with the phase and replicas ready of desired.
    const scaled = await hearthOnPty(['scale', 'deployment', DEP, '--replica-count', '2', '--wait']);
    expect(scaled.code, scaled.stdout).toBe(0);
    expect(scaled.stdout).toContain('\u2588');
    expect(scaled.stdout).toMatch(/\d+% \| [A-Z]+ · replicas \d\/2 ready/);
    expect(scaled.stdout).toMatch(/100% \| READY · replicas \d\/\d ready/);
  }, 150_000);

  it('errors: exit 1 with the server’s message naming the field; exit 2 for bad usage, nothing sent', async () => {
    const invalid = await hearth(['create', 'deployment', BASE, '--deployment-id', 'too-eager', '--scale-to-zero-window', '1m']);
    expect(invalid.code, await explain(invalid)).toBe(1);
    expect(invalid.stderr).toMatch(/^error: INVALID_ARGUMENT: .*autoscalingPolicy\.scaleToZeroWindow/);
    const missing = await hearth(['get', 'deployment', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: NOT_FOUND: /);
    const usage = await hearth(['create', 'deployment', BASE, '--deployment-id', 'never', '--min-replica-count', 'one']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toBe('error: --min-replica-count: "one" is not an integer\n');
    expect((await rest('GET', '/deployments/never')).status).toBe(404);
    const unsupported = await hearth(['delete', 'user', 'admin']);
    expect(unsupported.code).toBe(2);
    expect(unsupported.stderr).toMatch(/cannot delete users/);
  }, 90_000);

  it('get-logs of a batch job: the REST answer’s shape; --follow stops on Ctrl-C without cancelling the job', async () => {
    const pool = await hearth(['create', 'node-pool', 'pool', '--max-node-count', '1', '--fake-machine-type', 'n2-standard-32', '--fake-num-nodes', '1']);
    expect(pool.code, await explain(pool)).toBe(0);
    const job = await hearth(['create', 'batch-job', '--node-pool', 'pool', '--image-ref', 'busybox', '--shell-command', 'echo hello', '-o', 'json']);
    expect(job.code, await explain(job)).toBe(0);
    const id = String((JSON.parse(job.stdout) as { name: string }).name).split('/').pop()!;

    const logs = await hearth(['get-logs', id]);
    expect(logs.code, await explain(logs)).toBe(0);
    const viaRest = (await rest('GET', `/batchJobs/${id}:getLogs?startFromHead=true`)).body as { entries?: { logTime?: string; rank?: number; message?: string }[] };
    // The table form prints one line per entry (none until a controller runs batch jobs).
    expect(logs.stdout).toBe((viaRest.entries ?? []).map((e) => `${e.logTime ?? ''} [${e.rank ?? 0}] ${e.message ?? ''}\n`).join(''));
    const json = await hearth(['get-logs', id, '-o', 'json']);
    expect(json.code).toBe(0);
    const page = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(Object.keys(page).sort()).toEqual(Object.keys(viaRest).sort());
    expect(typeof page.nextPageToken).toBe('string');

    const before = (await rest('GET', `/batchJobs/${id}`)).body.state;
    const followed = await hearth(['get-logs', id, '--follow'], { interruptAfterMs: 6000 });
    expect(followed.code, await explain(followed)).toBe(130);
    expect((await rest('GET', `/batchJobs/${id}`)).body.state).toBe(before); // not cancelled
  }, 90_000);

  it('completion scripts come from the binary', async () => {
    const bash = await hearth(['completion', 'bash']);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain('complete -F _hearth hearth');
    expect(bash.stdout).toContain('--scale-to-zero-window');
  }, 30_000);
});
