// Where a bootstrap API key goes (issue 15 item 8): once, to the terminal that asked for it, and
// never to a log sink. A process whose standard output is not a terminal — a pod, whose output is
// its log; a CI job — prints no key unless asked explicitly (`bootstrap --print-key`), or, for the
// start-up bootstrap (HEARTH_BOOTSTRAP_ACCOUNT), writes it to HEARTH_BOOTSTRAP_KEY_FILE (0600) for
// `kubectl exec` to read once. With nowhere to go, no key is issued at all: a key nobody saw is one
// nobody can revoke knowingly. The key is never passed to the logger.
import { writeFile } from 'node:fs/promises';

export type KeyDelivery = { to: 'stdout' } | { to: 'file'; path: string } | { to: 'nowhere'; why: string };

export interface KeyDeliveryInput {
  /** process.stdout.isTTY */
  isTTY: boolean;
  /** Printing to standard output was asked for explicitly (`--print-key`). */
  printRequested?: boolean;
  /** A file to write it to (HEARTH_BOOTSTRAP_KEY_FILE). */
  file?: string | undefined;
}

export function keyDelivery(o: KeyDeliveryInput): KeyDelivery {
  if (o.isTTY || o.printRequested === true) return { to: 'stdout' };
  if (o.file) return { to: 'file', path: o.file };
  return { to: 'nowhere', why: 'standard output is not a terminal (it may be a log): no API key issued; run the command in a terminal (kubectl exec -it …), or pass --print-key, or set HEARTH_BOOTSTRAP_KEY_FILE' };
}

/** Hands the key over; returns a line to log that does not contain it. */
export async function deliverKey(key: string, d: Exclude<KeyDelivery, { to: 'nowhere' }>, heading: string, stdout: { write(s: string): unknown }): Promise<string> {
  if (d.to === 'stdout') {
    stdout.write(`${heading}:\n${key}\n`);
    return 'API key printed to standard output';
  }
  await writeFile(d.path, `${key}\n`, { mode: 0o600 });
  return `API key written to ${d.path} (read it once, then delete the file)`;
}
