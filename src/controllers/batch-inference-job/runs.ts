// The runs of this controller (one leadership term): at most one JobRun per job, keyed by the
// job's key and uid (a job deleted and recreated under the same name is another job). When a run
// settles, `onSettled` wakes the job's key so its next pass reads the outcome at once.
import type { JobRun, RunOutcome } from './runner.js';

interface Entry {
  uid: string;
  run: JobRun;
  /** Set when `run.done` settles. */
  result?: { outcome: RunOutcome } | { error: unknown };
}

export class Runs {
  readonly #runs = new Map<string, Entry>();
  onSettled: (key: string) => void = () => undefined;

  get(key: string, uid: string): Entry | undefined {
    const e = this.#runs.get(key);
    return e?.uid === uid ? e : undefined;
  }

  start(key: string, uid: string, run: JobRun): Entry {
    const entry: Entry = { uid, run };
    this.#runs.set(key, entry);
    run.done.then(
      (outcome) => (entry.result = { outcome }),
      (error: unknown) => (entry.result = { error }),
    ).finally(() => {
      if (this.#runs.get(key) === entry) this.onSettled(key);
    });
    return entry;
  }

  /** Stops the run of `key` (if any) and waits until what it answered is written. */
  async stop(key: string): Promise<Entry | undefined> {
    const e = this.#runs.get(key);
    if (!e) return undefined;
    e.run.stop();
    await e.run.done.catch(() => undefined);
    return e;
  }

  forget(key: string): void {
    this.#runs.delete(key);
  }

  get size(): number {
    return this.#runs.size;
  }

  /** At the end of a leadership term: every run stops and writes what it answered (the next leader resumes from there). */
  async stopAll(): Promise<void> {
    const all = [...this.#runs.keys()];
    await Promise.all(all.map((k) => this.stop(k)));
    this.#runs.clear();
  }
}
