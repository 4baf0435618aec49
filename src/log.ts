// The process's one logger module. main.ts creates the root logger once (LOG_LEVEL) and hands it
// down; each part names itself with a child: `log.child({ component: 'controller' })`, and deeper
// parts add their own (`component: 'autoscaler'`, …), so every line says where it comes from.
// Whatever logs through it, credentials never reach the output: the Authorization header and API
// keys and tokens in logged objects are replaced by "[redacted]".
import { pino, type DestinationStream, type Logger } from 'pino';
import { LOG_REDACT_PATHS } from './auth/key-format.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** pino level (default info); 'silent' writes nothing. */
  level?: string;
  /** Where lines go (default stdout); tests pass a stream to read them. */
  destination?: DestinationStream;
}

/** The root logger, with the redaction of credentials. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const options = { level: opts.level ?? 'info', redact: { paths: [...LOG_REDACT_PATHS], censor: '[redacted]' } };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that writes nothing: the default where a caller gave none (tests, libraries). */
export function silentLogger(): Logger {
  return createLogger({ level: 'silent' });
}
