// Streaming validation of a fine-tuning dataset in JSONL, with the rules of the product docs
// ("Prepare a dataset"): each line one JSON object with a `messages` array; each message an object
// with `role` (system, user or assistant; system only as the first message) and `content` (a
// string, or the multimodal list of parts `{type: "text", text}` / `{type: "image_url",
// image_url: {url}}` of the chat API); at least 3 and at most 3 million examples. A line with a
// `custom_id` is a batch inference request instead (`{"custom_id", "body": {messages | prompt}}`).
//
// Bytes are pushed as they arrive (any chunking, UTF-8 split anywhere); only the current line is
// held, and a line longer than `maxLineBytes` is reported and skipped without being held. Errors
// name the 1-based line number, the field path inside the line and the rule, and stop being
// collected after `maxErrors` (the rest of the file is still counted). Blank lines (only
// whitespace) are skipped: they are neither examples nor errors. Other top-level keys (metadata
// such as `ground_truth`) and other message keys are allowed.
//
// It also measures what the Dataset resource reports: the example count, an estimate of the token
// count (about 4 characters per token, plus 4 tokens of chat framing per message) and the average
// number of turns (user messages) per example.

export const DATASET_ROLES = ['system', 'user', 'assistant'] as const;
export const DEFAULT_MIN_EXAMPLES = 3;
export const DEFAULT_MAX_EXAMPLES = 3_000_000;
export const DEFAULT_MAX_ERRORS = 20;
export const DEFAULT_MAX_LINE_BYTES = 8 * 1024 * 1024;

const CHARS_PER_TOKEN = 4;
const TOKENS_PER_MESSAGE = 4;

export interface JsonlValidationOptions {
  minExamples?: number;
  maxExamples?: number;
  /** Errors collected before the rest are only counted. */
  maxErrors?: number;
  /** Longest line accepted, in bytes (without the newline). */
  maxLineBytes?: number;
}

/** One rule broken: `line 7: messages[1].role: must be one of system, user, assistant`. */
export interface JsonlIssue {
  /** 1-based line number; 0 for rules about the whole file (example count). */
  line: number;
  /** Path inside the line's JSON (`messages[1].role`); empty for the line itself. */
  path: string;
  rule: string;
  /** Short machine-readable rule id (JSON, TYPE, REQUIRED, ENUM, ORDER, MIN, MAX, LINE_TOO_LONG, UTF8). */
  reason: string;
}

export interface JsonlSummary {
  /** Non-blank lines. */
  examples: number;
  /** Lines seen, blank ones included. */
  lines: number;
  bytes: number;
  estimatedTokens: number;
  /** User messages per example (0 for no examples). */
  averageTurnCount: number;
  /** The first `maxErrors` issues. */
  issues: JsonlIssue[];
  /** Issues found, including those past the cap (lines past the cap are counted, not checked). */
  issueCount: number;
}

export function formatIssue(i: JsonlIssue): string {
  const where = i.line > 0 ? `line ${i.line}: ` : '';
  return `${where}${i.path ? `${i.path}: ` : ''}${i.rule}`;
}

type Found = Omit<JsonlIssue, 'line'>;

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Characters of text a content value carries (for the token estimate), or the issues it has. */
function checkContent(content: unknown, path: string, out: Found[]): number {
  if (typeof content === 'string') return content.length;
  if (content === undefined) {
    out.push({ path, rule: 'is required', reason: 'REQUIRED' });
    return 0;
  }
  if (!Array.isArray(content)) {
    out.push({ path, rule: `must be a string or a list of content parts, not ${typeName(content)}`, reason: 'TYPE' });
    return 0;
  }
  let chars = 0;
  content.forEach((part: unknown, j) => {
    const p = `${path}[${j}]`;
    if (!isObject(part)) {
      out.push({ path: p, rule: 'must be an object {type, ...}', reason: 'TYPE' });
    } else if (part.type === 'text') {
      if (typeof part.text === 'string') chars += part.text.length;
      else out.push({ path: `${p}.text`, rule: part.text === undefined ? 'is required' : 'must be a string', reason: part.text === undefined ? 'REQUIRED' : 'TYPE' });
    } else if (part.type === 'image_url') {
      const url = isObject(part.image_url) ? part.image_url.url : undefined;
      if (typeof url !== 'string' || url === '') out.push({ path: `${p}.image_url.url`, rule: 'must be a non-empty string', reason: 'REQUIRED' });
    } else {
      out.push({ path: `${p}.type`, rule: 'must be one of text, image_url', reason: 'ENUM' });
    }
  });
  return chars;
}

export interface ExampleCheck {
  issues: Found[];
  chars: number;
  messages: number;
  turns: number;
}

/**
 * A line of a batch inference input (`{"custom_id": …, "body": {…request…}}`, the documented batch
 * format): the body is a chat completion (`messages`, checked as a conversation) or a completion
 * (`prompt`) request.
 */
function checkBatchRequest(value: Record<string, unknown>): ExampleCheck {
  const res: ExampleCheck = { issues: [], chars: 0, messages: 0, turns: 0 };
  if (typeof value.custom_id !== 'string' || value.custom_id === '') res.issues.push({ path: 'custom_id', rule: 'must be a non-empty string', reason: 'TYPE' });
  const body = value.body;
  if (!isObject(body) || (body.messages === undefined) === (body.prompt === undefined)) {
    res.issues.push({ path: 'body', rule: 'must be a request object with exactly one of messages (chat) or prompt (completion)', reason: body === undefined ? 'REQUIRED' : 'TYPE' });
    return res;
  }
  if (body.messages !== undefined) {
    const chat = checkExample({ messages: body.messages });
    res.issues.push(...chat.issues.map((i) => ({ ...i, path: `body.${i.path}` })));
    return { ...chat, issues: res.issues };
  }
  const p = body.prompt;
  if (typeof p === 'string') res.chars = p.length;
  else if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string')) res.chars = p.join('').length;
  else res.issues.push({ path: 'body.prompt', rule: 'must be a string or a non-empty list of strings', reason: 'TYPE' });
  return res;
}

/** Checks one parsed line against the dataset rules. */
export function checkExample(value: unknown): ExampleCheck {
  const issues: Found[] = [];
  const res: ExampleCheck = { issues, chars: 0, messages: 0, turns: 0 };
  if (isObject(value) && value.custom_id !== undefined) return checkBatchRequest(value);
  if (!isObject(value)) {
    issues.push({ path: '', rule: `must be a JSON object with a messages array, not ${typeName(value)}`, reason: 'TYPE' });
    return res;
  }
  const messages = value.messages;
  if (messages === undefined) {
    issues.push({ path: 'messages', rule: 'is required', reason: 'REQUIRED' });
    return res;
  }
  if (!Array.isArray(messages)) {
    issues.push({ path: 'messages', rule: `must be an array of {role, content} messages, not ${typeName(messages)}`, reason: 'TYPE' });
    return res;
  }
  if (messages.length === 0) issues.push({ path: 'messages', rule: 'must contain at least one message', reason: 'MIN' });
  messages.forEach((m: unknown, i) => {
    const path = `messages[${i}]`;
    if (!isObject(m)) {
      issues.push({ path, rule: `must be an object {role, content}, not ${typeName(m)}`, reason: 'TYPE' });
      return;
    }
    res.messages++;
    const role = m.role;
    if (role === undefined) issues.push({ path: `${path}.role`, rule: 'is required', reason: 'REQUIRED' });
    else if (typeof role !== 'string' || !(DATASET_ROLES as readonly string[]).includes(role)) {
      issues.push({ path: `${path}.role`, rule: `must be one of ${DATASET_ROLES.join(', ')}`, reason: 'ENUM' });
    } else if (role === 'system' && i > 0) {
      issues.push({ path: `${path}.role`, rule: 'system is allowed only as the first message', reason: 'ORDER' });
    } else if (role === 'user') res.turns++;
    res.chars += checkContent(m.content, `${path}.content`, issues);
  });
  return res;
}

const WHITESPACE = new Set([0x20, 0x09, 0x0d, 0x0a]);

/** Feed bytes with `push`, then call `end` once for the summary. */
export class JsonlValidator {
  private readonly minExamples: number;
  private readonly maxExamples: number;
  private readonly maxErrors: number;
  private readonly maxLineBytes: number;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

  private parts: Buffer[] = [];
  private partBytes = 0;
  /** The current line is over the limit: drop bytes until its newline. */
  private skipping = false;
  private line = 0;
  private examples = 0;
  private bytes = 0;
  private chars = 0;
  private messages = 0;
  private turns = 0;
  private readonly issues: JsonlIssue[] = [];
  private issueCount = 0;

  constructor(opts: JsonlValidationOptions = {}) {
    this.minExamples = opts.minExamples ?? DEFAULT_MIN_EXAMPLES;
    this.maxExamples = opts.maxExamples ?? DEFAULT_MAX_EXAMPLES;
    this.maxErrors = opts.maxErrors ?? DEFAULT_MAX_ERRORS;
    this.maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  /** Some rule was broken (the upload must not become READY). */
  get failed(): boolean {
    return this.issueCount > 0;
  }

  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.bytes += buf.length;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl === -1) {
        this.append(buf.subarray(start));
        return;
      }
      this.append(buf.subarray(start, nl));
      this.finishLine();
      start = nl + 1;
    }
  }

  end(): JsonlSummary {
    if (this.partBytes > 0 || this.skipping) this.finishLine();
    if (this.examples < this.minExamples) {
      this.report({ line: 0, path: '', rule: `the file must contain at least ${this.minExamples} examples; it has ${this.examples}`, reason: 'MIN' });
    } else if (this.examples > this.maxExamples) {
      this.report({ line: 0, path: '', rule: `the file must contain at most ${this.maxExamples} examples; it has ${this.examples}`, reason: 'MAX' });
    }
    return {
      examples: this.examples,
      lines: this.line,
      bytes: this.bytes,
      estimatedTokens: Math.ceil(this.chars / CHARS_PER_TOKEN) + this.messages * TOKENS_PER_MESSAGE,
      averageTurnCount: this.examples === 0 ? 0 : this.turns / this.examples,
      issues: this.issues,
      issueCount: this.issueCount,
    };
  }

  private append(b: Buffer): void {
    if (this.skipping || b.length === 0) return;
    if (this.partBytes + b.length > this.maxLineBytes) {
      this.skipping = true;
      this.parts = [];
      this.partBytes = 0;
      return;
    }
    // Copy: the caller may reuse its buffer.
    this.parts.push(Buffer.from(b));
    this.partBytes += b.length;
  }

  private report(issue: JsonlIssue): void {
    this.issueCount++;
    if (this.issues.length < this.maxErrors) this.issues.push(issue);
  }

  private finishLine(): void {
    this.line++;
    const line = this.line;
    if (this.skipping) {
      this.skipping = false;
      this.examples++;
      this.report({ line, path: '', rule: `is longer than ${this.maxLineBytes} bytes`, reason: 'LINE_TOO_LONG' });
      return;
    }
    const raw = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partBytes);
    this.parts = [];
    this.partBytes = 0;
    if (raw.every((c) => WHITESPACE.has(c))) return;
    this.examples++;
    // Past the cap, lines are only counted: a broken file is not parsed to the end.
    if (this.issues.length >= this.maxErrors) return;
    let text: string;
    try {
      text = this.decoder.decode(raw);
    } catch {
      this.report({ line, path: '', rule: 'is not valid UTF-8', reason: 'UTF8' });
      return;
    }
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      this.report({ line, path: '', rule: `is not valid JSON (${(e as Error).message.slice(0, 120)})`, reason: 'JSON' });
      return;
    }
    const check = checkExample(value);
    for (const i of check.issues) this.report({ line, ...i });
    this.chars += check.chars;
    this.messages += check.messages;
    this.turns += check.turns;
  }
}
