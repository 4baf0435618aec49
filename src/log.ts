// The process's one logger module. main.ts creates the root logger once (LOG_LEVEL) and hands it
// down; each part names itself with a child: `log.child({ component: 'controller' })`, and deeper
// parts add their own (`component: 'autoscaler'`, …), so every line says where it comes from.
// Whatever logs through it, credentials never reach the output: the Authorization header and API
// keys and tokens in logged objects are replaced by "[redacted]", and the signatures of signed URLs
// (`signature=`, S3's `X-Amz-Signature=`) are cut out of logged request URLs, which keep their path.
import { pino, type DestinationStream, type Logger } from 'pino';
import { LOG_REDACT_PATHS } from './auth/key-format.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** pino level (default info); 'silent' writes nothing. */
  level?: string;
  /** Where lines go (default stdout); tests pass a stream to read them. */
  destination?: DestinationStream;
}

/** Request URLs as logged (fastify's `req.url`, and `url` of logged objects). */
const URL_PATHS = ['req.url', 'request.url', 'url'];
const SIGNATURE_PARAM = /([?&](?:signature|x-amz-signature|x-amz-credential|sig|token)=)[^&#]*/gi;

/** A signed URL without its secret parts: the value of every signature-like query parameter. */
export function redactSignedUrl(url: string): string {
  return url.replace(SIGNATURE_PARAM, '$1[redacted]');
}

function censor(value: unknown, path: string[]): unknown {
  const last = path[path.length - 1];
  if (last === 'url' && typeof value === 'string') return redactSignedUrl(value);
  return '[redacted]';
}

/** The root logger, with the redaction of credentials. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const options = { level: opts.level ?? 'info', redact: { paths: [...LOG_REDACT_PATHS, ...URL_PATHS], censor } };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that writes nothing: the default where a caller gave none (tests, libraries). */
export function silentLogger(): Logger {
  return createLogger({ level: 'silent' });
}
