// Mode `bootstrap --account <id> --email <e-mail> [--display-name <n>] [--rotate-key]`: creates
// the first account, its namespace and admin user, and prints an admin API key once
// (`npm run bootstrap -- --account acme --email ann@acme.example`), to a terminal only unless
// --print-key (bootstrap-key.ts). A one-shot command, not a service.
import { parseArgs } from 'node:util';
import { adoptionRule, ensureAccountNamespace, namespaceOptions } from '../api/kube/namespaces.js';
import { bootstrap, type BootstrapResult } from '../auth/bootstrap.js';
import { deliverKey, keyDelivery, type KeyDelivery } from './bootstrap-key.js';
import type { Config } from '../config.js';
import { NamespaceSeal } from '../crds/account.js';
import { openDatabase } from '../db/client.js';
import { installationSecretsRepo } from '../db/index.js';
import { KubeConfigError, loadKubeConfig } from '../kube/config.js';
import type { Logger } from '../log.js';

/** A command line that cannot work (exit 2, like a bad configuration). */
class UsageError extends Error {}

/** Runs the command; the exit code: 0 done, 2 a command line or kubeconfig that cannot work. */
export async function runBootstrap(config: Config, args: string[], log: Logger): Promise<number> {
  try {
    await bootstrapAccount(config, args, log);
    return 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof KubeConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

async function bootstrapAccount(config: Config, args: string[], log: Logger): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { account: { type: 'string' }, email: { type: 'string' }, 'display-name': { type: 'string' }, 'rotate-key': { type: 'boolean' }, 'print-key': { type: 'boolean' } },
  });
  if (!values.account || !values.email) throw new UsageError('usage: bootstrap --account <id> --email <e-mail> [--display-name <name>] [--rotate-key] [--print-key]');
  // The key goes to the terminal that asked for it, never to a log (bootstrap-key.ts).
  const delivery = keyDelivery({ isTTY: process.stdout.isTTY === true, printRequested: values['print-key'] === true });
  if (!config.database.url) throw new UsageError('bootstrap needs DATABASE_URL (postgres://… or pglite://<dir>): an in-memory database would forget the key at exit');
  const database = await openDatabase({ url: config.database.url, applicationName: 'hearth-bootstrap' });
  try {
    await database.migrate();
    const r = await bootstrap(database.db, {
      accountId: values.account,
      email: values.email,
      ...(values['display-name'] ? { displayName: values['display-name'] } : {}),
      issueKey: delivery.to === 'nowhere' ? 'never' : values['rotate-key'] ? 'always' : 'ifNone',
    });
    const kc = loadKubeConfig(config.kube.kubeconfig, { inCluster: config.kube.serviceHost !== undefined });
    try {
      const secret = await installationSecretsRepo.getOrCreateSecret(database.db, installationSecretsRepo.SECRET_NAMES.tenancy);
      const opts = { ...namespaceOptions(config, new NamespaceSeal(secret.secret)), adoptUnsealed: adoptionRule(database.db, secret.createTime) };
      const ns = await ensureAccountNamespace(kc, r.account.accountId, opts);
      log.info({ namespace: ns }, 'account namespace ready');
    } finally {
      kc.destroy();
    }
    await report(r, delivery);
  } finally {
    await database.close();
  }
}

/** What the command did, and the key, once, where `delivery` says (never through the logger). */
async function report(r: BootstrapResult, delivery: KeyDelivery): Promise<void> {
  process.stdout.write(`account accounts/${r.account.accountId} ${r.accountCreated ? 'created' : 'exists'}; admin ${r.admin.email} ${r.adminCreated ? 'created' : 'exists'}\n`);
  if (delivery.to === 'nowhere') process.stderr.write(`${delivery.why}\n`);
  else if (r.apiKey) await deliverKey(r.apiKey.key, delivery, 'API key (shown once, store it now)', process.stdout);
  else process.stdout.write('the admin already has a usable API key; none issued (use --rotate-key for a new one)\n');
}
