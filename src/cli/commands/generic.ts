// get / list / delete for every kind that has them (the kind modules register create and update,
// and their own variants where REST differs), and a clear usage error for a verb REST lacks.
import type { Command } from 'commander';
import { action, type Ctx } from '../context.js';
import { UsageError } from '../errors.js';
import { idOf, parseInt32 } from '../format.js';
import { KINDS, unsupported, type Kind, type Verb } from '../kinds.js';

const has = (parent: Command, name: string): boolean => parent.commands.some((c) => c.name() === name);

/** A subcommand of `parent` for `kind` (its aliases too). */
export function kindCommand(parent: Command, kind: Kind): Command {
  return parent.command(kind.name).aliases(kind.aliases).summary(`${parent.name()} a ${kind.title}`);
}

export async function getOne(ctx: Ctx, kind: Kind, id: string): Promise<Record<string, unknown>> {
  return ctx.client.account(`GET`, `${kind.path}/${encodeURIComponent(idOf(id))}`);
}

interface ListOpts {
  filter?: string;
  orderBy?: string;
  pageSize?: string;
  pageToken?: string;
  paginate?: boolean;
  showDeleted?: boolean;
}

/** One page (or every page with --no-paginate): the answer as REST gave it, pages merged. */
export async function listAll(ctx: Ctx, path: string, listKey: string, o: ListOpts): Promise<{ answer: Record<string, unknown>; items: Record<string, unknown>[] }> {
  const items: Record<string, unknown>[] = [];
  let answer: Record<string, unknown> = {};
  let pageToken = o.pageToken;
  const pageSize = o.pageSize === undefined ? undefined : parseInt32('page-size', o.pageSize, 1);
  for (;;) {
    answer = await ctx.client.account('GET', path, { query: { filter: o.filter, orderBy: o.orderBy, pageSize, pageToken, showDeleted: o.showDeleted || undefined } });
    items.push(...((answer[listKey] as Record<string, unknown>[] | undefined) ?? []));
    pageToken = answer.nextPageToken as string | undefined;
    if (o.paginate !== false || !pageToken) break;
  }
  if (o.paginate === false) answer = { [listKey]: items, ...(answer.totalSize !== undefined ? { totalSize: answer.totalSize } : {}) };
  return { answer, items };
}

export function addListFlags(cmd: Command): Command {
  return cmd
    .option('--filter <filter>', 'Only resources satisfying the filter (https://google.aip.dev/160).')
    .option('--order-by <fields>', 'Fields to order by; " desc" after a field for descending.')
    .option('--page-size <int>', 'The maximum number of resources to list.')
    .option('--page-token <token>', 'The page to list.')
    .option('--no-paginate', 'List all resources without pagination.');
}

function registerGet(get: Command, kind: Kind): void {
  kindCommand(get, kind)
    .argument('<id>', `the ${kind.title} id (or its full name)`)
    .action(action(async (ctx, [id]) => ctx.printResource(await getOne(ctx, kind, id!))));
}

function registerList(list: Command, kind: Kind): void {
  const cmd = addListFlags(kindCommand(list, kind));
  if (kind.name === 'deployment') cmd.option('--show-deleted', 'Include soft-deleted (DELETING/DELETED) deployments.');
  cmd.action(
    action(async (ctx, _args, opts) => {
      const { answer, items } = await listAll(ctx, kind.path, kind.listKey, opts as ListOpts);
      ctx.printList(answer, items, kind.columns);
    }),
  );
}

function registerDelete(del: Command, kind: Kind): void {
  kindCommand(del, kind)
    .argument('<id>', `the ${kind.title} id (or its full name)`)
    .action(
      action(async (ctx, [id]) => {
        const answer = await ctx.client.account('DELETE', `${kind.path}/${encodeURIComponent(idOf(id!))}`);
        printDeleted(ctx, kind, id!, answer);
      }),
    );
}

export function printDeleted(ctx: Ctx, kind: Kind, id: string, answer: unknown): void {
  if (ctx.output === 'table') ctx.out(`Deleted ${kind.title} ${idOf(id)}.`);
  else ctx.printResource(answer);
}

function registerUnsupported(parent: Command, kind: Kind, verb: Verb): void {
  kindCommand(parent, kind)
    .summary(`(not served by the REST API)`)
    .argument('[args...]')
    .allowUnknownOption()
    .action(() => {
      throw new UsageError(unsupported(kind, verb));
    });
}

/** Fills the verb commands: the standard handlers, then usage errors for what REST lacks. */
export function registerGeneric(verbs: Record<Verb, Command>): void {
  const standard: Partial<Record<Verb, (c: Command, k: Kind) => void>> = { get: registerGet, list: registerList, delete: registerDelete };
  for (const kind of KINDS) {
    for (const verb of Object.keys(verbs) as Verb[]) {
      const parent = verbs[verb];
      if (has(parent, kind.name)) continue;
      const register = standard[verb];
      if (kind.verbs.includes(verb) && register) register(parent, kind);
      else if (!kind.verbs.includes(verb)) registerUnsupported(parent, kind, verb);
    }
  }
}
