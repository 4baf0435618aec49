// The line format of a batch inference job (pure).
//
// Input, one JSON object per line (the documented format; blank lines are skipped):
//   {"custom_id": "q-1", "body": {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 64}}
//   {"custom_id": "q-2", "body": {"prompt": "Once upon a time"}}
// `body` is a chat completion request (`messages`) or a completion request (`prompt`). The job's
// model replaces any `model` in the body, `stream` is always false, and the job's
// inferenceParameters fill in what the body does not set (the line's own fields win).
//
// Output, one line per non-blank input line, in the order answers arrived (`line` is the 1-based
// input line, so each input line is answered exactly once whatever the order):
//   {"custom_id": "q-1", "line": 1, "response": {…the gateway's answer…}}
//   {"custom_id": "q-2", "line": 2, "error": {"code": "INVALID_ARGUMENT", "message": "…"}}
// A line that is not JSON has no custom_id in its answer.
import type { InferenceParameters } from '../../crds/batch-inference-job.js';

export const MAX_CUSTOM_ID_LENGTH = 512;

export type InferencePath = '/chat/completions' | '/completions';

/** A line ready to send. */
export interface LineRequest {
  line: number;
  customId: string;
  path: InferencePath;
  body: Record<string, unknown>;
}

/** What a line's error says: a gRPC code name (as Fireworks' Status) and a message naming the problem. */
export interface LineError {
  code: string;
  message: string;
}

export type ParsedLine = { ok: true; request: LineRequest } | { ok: false; line: number; customId?: string; error: LineError };

/** One answered line as written to, and read back from, the output. */
export interface Answer {
  line: number;
  customId?: string;
  ok: boolean;
  /** The output line, without its newline. */
  text: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

const invalid = (line: number, message: string, customId?: string): ParsedLine => ({
  ok: false,
  line,
  ...(customId !== undefined ? { customId } : {}),
  error: { code: 'INVALID_ARGUMENT', message },
});

/** The job-wide request fields, in the gateway's (OpenAI's) names. Throws if extraBody is not a JSON object. */
export function jobDefaults(p: InferenceParameters | undefined): Record<string, unknown> {
  if (!p) return {};
  let extra: Record<string, unknown> = {};
  if (p.extraBody !== undefined) {
    let v: unknown;
    try {
      v = JSON.parse(p.extraBody);
    } catch {
      throw new Error('inferenceParameters.extraBody is not valid JSON');
    }
    if (!isObject(v)) throw new Error('inferenceParameters.extraBody must be a JSON object');
    extra = v;
  }
  const named: Record<string, unknown> = {
    max_tokens: p.maxTokens,
    temperature: p.temperature,
    top_p: p.topP,
    top_k: p.topK,
    n: p.n,
  };
  return { ...extra, ...Object.fromEntries(Object.entries(named).filter(([, v]) => v !== undefined)) };
}

/** What every line of a job shares when it is parsed. */
export interface ParseContext {
  /** The model id every request carries. */
  model: string;
  /** Job-wide request fields (jobDefaults). */
  defaults: Record<string, unknown>;
  /** custom_id → the line that used it first (a repeat is an error, so every answer can be told apart by its id); updated. */
  seen: Map<string, number>;
}

/** The custom_id of a line, or what is wrong with it. */
function checkId(v: Record<string, unknown>, line: number, seen: Map<string, number>): { id: string } | { problem: string; id?: string } {
  const id = v.custom_id;
  if (typeof id !== 'string' || id === '') return { problem: `line ${line}: custom_id is required (a non-empty string)` };
  if (id.length > MAX_CUSTOM_ID_LENGTH) return { problem: `line ${line}: custom_id is longer than ${MAX_CUSTOM_ID_LENGTH} characters` };
  const first = seen.get(id);
  if (first !== undefined) return { problem: `line ${line}: custom_id "${id}" is already used on line ${first}`, id };
  seen.set(id, line);
  return { id };
}

/** What is wrong with a request body, if anything; and where it goes. */
function checkBody(body: unknown, line: number): { path: InferencePath } | { problem: string } {
  if (!isObject(body)) return { problem: `line ${line}: body is required (a chat completion or completion request object)` };
  const hasMessages = body.messages !== undefined;
  if (hasMessages === (body.prompt !== undefined)) return { problem: `line ${line}: body must have exactly one of messages (chat) or prompt (completion)` };
  const problem = hasMessages ? messagesProblem(body.messages) : promptProblem(body.prompt);
  if (problem) return { problem: `line ${line}: ${problem}` };
  return { path: hasMessages ? '/chat/completions' : '/completions' };
}

function messagesProblem(messages: unknown): string | undefined {
  if (!Array.isArray(messages) || messages.length === 0) return 'body.messages must be a non-empty array';
  const bad = messages.findIndex((m) => !isObject(m) || typeof m.role !== 'string');
  return bad >= 0 ? `body.messages[${bad}] must be an object with a role` : undefined;
}

function promptProblem(p: unknown): string | undefined {
  const ok = typeof p === 'string' || (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string'));
  return ok ? undefined : 'body.prompt must be a string or a non-empty array of strings';
}

/** Parses one non-blank input line into a request, or the error that is that line's answer. */
export function parseLine(text: string, line: number, ctx: ParseContext): ParsedLine {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return invalid(line, `line ${line} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(v)) return invalid(line, `line ${line} must be a JSON object with custom_id and body`);
  const id = checkId(v, line, ctx.seen);
  if ('problem' in id) return invalid(line, id.problem, id.id);
  const body = checkBody(v.body, line);
  if ('problem' in body) return invalid(line, body.problem, id.id);
  return { ok: true, request: { line, customId: id.id, path: body.path, body: { ...ctx.defaults, ...(v.body as Record<string, unknown>), model: ctx.model, stream: false } } };
}

export function answerText(a: { line: number; customId?: string | undefined } & ({ response: unknown } | { error: LineError })): string {
  const head = { ...(a.customId !== undefined ? { custom_id: a.customId } : {}), line: a.line };
  return JSON.stringify('response' in a ? { ...head, response: a.response } : { ...head, error: a.error });
}

export function successAnswer(r: LineRequest, response: unknown): Answer {
  return { line: r.line, customId: r.customId, ok: true, text: answerText({ line: r.line, customId: r.customId, response }) };
}

export function errorAnswer(line: number, customId: string | undefined, error: LineError): Answer {
  return { line, ...(customId !== undefined ? { customId } : {}), ok: false, text: answerText({ line, customId, error }) };
}

/** Reads back an output line (ours); undefined for anything else (never expected: the output is only ever written by a job). */
export function readAnswer(text: string): Answer | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(v) || typeof v.line !== 'number' || !Number.isInteger(v.line) || v.line < 1) return undefined;
  const customId = typeof v.custom_id === 'string' ? v.custom_id : undefined;
  return { line: v.line, ...(customId !== undefined ? { customId } : {}), ok: v.response !== undefined && v.error === undefined, text };
}

/**
 * Lines of a byte stream: `{line, text}` for each non-blank line, `line` 1-based over all lines.
 * Only the current line is held. A trailing line without a newline counts.
 */
export async function* splitLines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<{ line: number; text: string }> {
  let pending: Buffer[] = [];
  let line = 0;
  const emit = (parts: Buffer[]): { line: number; text: string } | undefined => {
    line++;
    const text = Buffer.concat(parts).toString('utf8').replace(/\r$/, '');
    return text.trim() === '' ? undefined : { line, text };
  };
  for await (const c of chunks) {
    let buf = Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a)) {
      const out = emit([...pending, buf.subarray(0, nl)]);
      pending = [];
      if (out) yield out;
      buf = buf.subarray(nl + 1);
    }
    if (buf.length > 0) pending.push(Buffer.from(buf));
  }
  if (pending.length > 0) {
    const out = emit(pending);
    if (out) yield out;
  }
}
