// Datasets: create with the file uploaded (progress: bytes, rate, ETA), update.
import type { Command } from 'commander';
import { action } from '../context.js';
import { UsageError } from '../errors.js';
import { addFieldFlags, bodyFromFlags, type FieldFlag } from '../flags.js';
import { idOf } from '../format.js';
import { kindNamed } from '../kinds.js';
import { filesOf, uploadFiles } from '../upload.js';
import { kindCommand } from './generic.js';

const DATASET = kindNamed('dataset')!;
const FLAGS: readonly FieldFlag[] = [{ flag: 'display-name', field: 'displayName', type: 'string', description: 'The display name of the dataset.' }];

function registerCreate(create: Command): void {
  const cmd = kindCommand(create, DATASET)
    .description('Creates a dataset and uploads its JSONL file: `hearth create dataset my-dataset ./train.jsonl`.')
    .argument('<dataset-id>', 'the dataset id')
    .argument('[path]', 'the JSONL file to upload')
    .option('--source-dataset <id>', 'Create the dataset as a copy of this READY dataset instead of uploading.');
  addFieldFlags(cmd, FLAGS).action(
    action(async (ctx, [id, path], opts) => {
      if (!path && !opts.sourceDataset) throw new UsageError('create dataset: give the file to upload (<path>) or --source-dataset');
      const files = path ? filesOf(path) : [];
      if (path && files.length !== 1) throw new UsageError(`${path}: a dataset is one JSONL file, not ${files.length} files`);
      const body = { datasetId: id, dataset: bodyFromFlags(FLAGS, opts), sourceDatasetId: opts.sourceDataset as string | undefined };
      const created = await ctx.client.account('POST', '/datasets', { body });
      if (!files.length) return ctx.printResource(created);
      const datasetPath = `/datasets/${encodeURIComponent(id!)}`;
      await uploadFiles(ctx, datasetPath, files);
      await ctx.client.account('POST', `${datasetPath}:validateUpload`, { body: {} });
      ctx.printResource(await ctx.client.account('GET', datasetPath));
    }),
  );
}

function registerUpdate(update: Command): void {
  const cmd = kindCommand(update, DATASET).argument('<dataset-id>', 'the dataset id');
  addFieldFlags(cmd, FLAGS).action(
    action(async (ctx, [id], opts) => {
      const body = bodyFromFlags(FLAGS, opts);
      if (!Object.keys(body).length) throw new UsageError('update dataset: give at least one field flag (see --help)');
      ctx.printResource(await ctx.client.account('PATCH', `/datasets/${encodeURIComponent(idOf(id!))}`, { body }));
    }),
  );
}

export function registerDatasets(v: { create: Command; update: Command }): void {
  registerCreate(v.create);
  registerUpdate(v.update);
}
