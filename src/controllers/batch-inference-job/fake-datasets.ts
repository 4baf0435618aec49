// Test double: datasets in memory, metadata and bytes (DatasetCatalog + DatasetBytes), with the
// same part semantics as PostgreSQL (a part is written once; a second writer is refused).
import { NotFoundError } from '../../db/errors.js';
import type { DatasetState } from '../../db/schema/index.js';
import type { DatasetBytes, DatasetCatalog, DatasetInfo, DatasetRef } from './datasets.js';

const keyOf = (r: DatasetRef): string => `${r.accountId}/${r.datasetId}`;

interface MemoryDataset {
  info: DatasetInfo;
  /** Files by name; each a list of parts (chunks). */
  files: Map<string, Uint8Array[]>;
  exampleCount?: number;
}

export class MemoryDatasets implements DatasetBytes, DatasetCatalog {
  readonly datasets = new Map<string, MemoryDataset>();
  /** Parts written, in order (tests assert on checkpoints). */
  readonly partWrites: string[] = [];

  /** A dataset with one file of `lines` (a JSONL text). */
  add(ref: DatasetRef, text: string, state: DatasetState = 'READY', fileName = 'input.jsonl'): void {
    this.datasets.set(keyOf(ref), { info: { state }, files: new Map([[fileName, [Buffer.from(text)]]]) });
  }

  async get(ref: DatasetRef): Promise<DatasetInfo | undefined> {
    const d = this.datasets.get(keyOf(ref));
    return d && { ...d.info };
  }

  async createOutput(ref: DatasetRef, job: string): Promise<'created' | 'ours' | 'taken'> {
    const d = this.datasets.get(keyOf(ref));
    if (d) return d.info.writtenBy === job ? 'ours' : 'taken';
    this.datasets.set(keyOf(ref), { info: { state: 'UPLOADING', writtenBy: job }, files: new Map() });
    return 'created';
  }

  async seal(): Promise<string> {
    return 'memory:';
  }

  async dropParts(): Promise<void> {}

  async finishOutput(ref: DatasetRef, lines: number): Promise<void> {
    const d = this.#must(ref);
    d.info.state = 'READY';
    d.exampleCount = lines;
  }

  async *read(ref: DatasetRef): AsyncIterable<Uint8Array> {
    const d = this.#must(ref);
    for (const name of [...d.files.keys()].sort()) for (const p of d.files.get(name) ?? []) yield p;
  }

  async *readParts(ref: DatasetRef, fileName: string): AsyncIterable<Uint8Array> {
    for (const p of this.datasets.get(keyOf(ref))?.files.get(fileName) ?? []) yield p;
  }

  async writePart(ref: DatasetRef, fileName: string, index: number, bytes: Uint8Array): Promise<boolean> {
    const d = this.#must(ref);
    const parts = d.files.get(fileName) ?? [];
    d.files.set(fileName, parts);
    if (index < parts.length) return false;
    if (index > parts.length) throw new Error(`part ${index} written before part ${parts.length}`);
    parts.push(Buffer.from(bytes));
    this.partWrites.push(`${keyOf(ref)}/${fileName}#${index}`);
    return true;
  }

  /** The lines of a file, parsed. */
  lines(ref: DatasetRef, fileName: string): Array<Record<string, unknown>> {
    const parts = this.datasets.get(keyOf(ref))?.files.get(fileName) ?? [];
    return Buffer.concat(parts)
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  #must(ref: DatasetRef): MemoryDataset {
    const d = this.datasets.get(keyOf(ref));
    if (!d) throw new NotFoundError('dataset', `accounts/${ref.accountId}/datasets/${ref.datasetId}`);
    return d;
  }
}
