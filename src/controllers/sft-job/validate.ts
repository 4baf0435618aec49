// Checks of a fine-tuning job before it trains (pure): the spec's ranges, the base model, and the
// dataset's examples against the documented rules (fireworks docs, "Supervised Fine-Tuning":
// at least 3 examples, at most 3 million × epochs, each a `messages` array of system/user/assistant
// messages with string content, a system message only first), and the evaluation carve-out.
import { LORA_RANKS, type SFTJobSpec } from '../../crds/sft-job.js';
import { MAX_EPOCHS, MAX_EXAMPLE_EPOCHS, MAX_LEARNING_RATE, MIN_SFT_EXAMPLES } from '../../crds/sft-trainer.js';

export class Invalid extends Error {
  constructor(
    readonly code: 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'FAILED_PRECONDITION' | 'ALREADY_EXISTS',
    message: string,
  ) {
    super(message);
  }
}

/** The hyperparameters' ranges (the CRD schema checks types; these are the documented limits). */
export function checkRanges(s: SFTJobSpec): void {
  if (!(LORA_RANKS as readonly number[]).includes(s.loraRank)) throw new Invalid('INVALID_ARGUMENT', `loraRank: ${s.loraRank} is not one of ${LORA_RANKS.join(', ')} (a power of two up to 64)`);
  if (s.epochs < 1 || s.epochs > MAX_EPOCHS) throw new Invalid('INVALID_ARGUMENT', `epochs: ${s.epochs} is outside 1–${MAX_EPOCHS}`);
  if (s.learningRate !== undefined && !(s.learningRate > 0 && s.learningRate <= MAX_LEARNING_RATE)) throw new Invalid('INVALID_ARGUMENT', `learningRate: ${s.learningRate} is outside (0, ${MAX_LEARNING_RATE}]`);
}

const ROLES = ['system', 'user', 'assistant'];

/** Why one JSONL line is not a chat example, or undefined. */
export function exampleProblem(line: string): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'is not JSON';
  }
  const messages = (v as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(messages) || messages.length === 0) return 'has no "messages" array';
  for (const [i, m] of messages.entries()) {
    const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !ROLES.includes(role)) return `message ${i} has role ${JSON.stringify(role)}; one of system, user, assistant is required`;
    if (role === 'system' && i !== 0) return `message ${i} is a system message; it may only be the first`;
    if (typeof content !== 'string') return `message ${i} has no string "content"`;
  }
  if (!messages.some((m) => (m as { role?: string }).role === 'assistant')) return 'has no assistant message to learn from';
  return undefined;
}

/** The non-empty lines of a JSONL file. */
export const linesOf = (bytes: Buffer): string[] =>
  bytes
    .toString('utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');

/** The first line that is not a chat example (1-based) and why, or undefined. */
export function firstBadLine(lines: readonly string[]): { line: number; problem: string } | undefined {
  for (const [i, l] of lines.entries()) {
    const problem = exampleProblem(l);
    if (problem) return { line: i + 1, problem };
  }
  return undefined;
}

/** Fails naming the field when a line is not a chat example (`bad` from firstBadLine). */
export function checkBadLine(field: string, name: string, bad: { line: number; problem: string } | undefined): void {
  if (bad) throw new Invalid('INVALID_ARGUMENT', `${field}: dataset ${name} line ${bad.line} ${bad.problem} (each example must be {"messages": [{"role", "content"}, …]})`);
}

/** Each line is a chat example (what a READY dataset's bytes say once: they never change). */
export function checkLines(field: string, name: string, lines: readonly string[]): void {
  checkBadLine(field, name, firstBadLine(lines));
}

/** The number of examples against the minimum and the examples × epochs limit (these depend on the job). */
export function checkCount(field: string, name: string, examples: number, epochs: number, min = MIN_SFT_EXAMPLES): void {
  if (examples < min) throw new Invalid('INVALID_ARGUMENT', `${field}: dataset ${name} has ${examples} examples; fine-tuning needs at least ${min} (minimum examples: ${min})`);
  if (examples * epochs > MAX_EXAMPLE_EPOCHS) throw new Invalid('INVALID_ARGUMENT', `${field}: dataset ${name} has ${examples} examples × ${epochs} epochs; at most ${MAX_EXAMPLE_EPOCHS} are trained`);
}

/**
 * The evaluation carve-out: every 10th example (at least one, and never more than leaves the
 * training set the minimum), deterministic so a second pass writes the same split.
 */
export function carveOut(lines: readonly string[]): { train: string[]; eval: string[] } {
  const want = Math.max(1, Math.floor(lines.length / 10));
  const n = Math.min(want, Math.max(0, lines.length - 2));
  const step = n > 0 ? Math.floor(lines.length / n) : Infinity;
  const evalIdx = new Set<number>();
  for (let i = step - 1; evalIdx.size < n && i < lines.length; i += step) evalIdx.add(i);
  return { train: lines.filter((_, i) => !evalIdx.has(i)), eval: lines.filter((_, i) => evalIdx.has(i)) };
}
