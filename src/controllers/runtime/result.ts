// The reconcile contract (controller-runtime's pkg/reconcile):
//
// - reconcile(key) is level-triggered: the key names an object, not an event; read current state.
// - Return {} (or nothing) when done; { requeueAfter: ms } to look again later (time windows,
//   polling an external system). The backoff of the key is reset either way.
// - Throw to retry with per-key exponential backoff under the global rate limit.
// - Throw a TerminalError when retrying cannot help (the user must fix the spec): it is logged and
//   the key is not retried until its object changes.
import type { Logger } from 'pino';

export interface Result {
  /** Reconcile this key again after this many milliseconds. */
  requeueAfter?: number;
}

export interface ReconcileContext {
  /** Logger bound to controller, key and reconcileId. */
  log: Logger;
  /** Aborted when the controller stops and its drain deadline passes: stop writing and return. */
  signal: AbortSignal;
}

export interface Reconciler {
  reconcile(key: string, ctx: ReconcileContext): Promise<Result | void>;
}

/** An error that retrying will not fix. */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export function isTerminal(err: unknown): boolean {
  return err instanceof TerminalError;
}

/** The HTTP status of a client-node ApiException (or anything with a numeric `code`). */
export function apiStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (err: unknown): boolean => apiStatus(err) === 404;
export const isConflict = (err: unknown): boolean => apiStatus(err) === 409;
