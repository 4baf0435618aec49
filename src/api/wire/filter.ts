// An AIP-160 filter subset: comparisons (=, !=, <, >, <=, >=) of a field path with a literal,
// combined with AND, OR, NOT (or a leading `-`) and parentheses. As in AIP-160, OR binds tighter
// than AND: `a AND b OR c` is `a AND (b OR c)`.
//
//   filter      := disjuncts { "AND" disjuncts }
//   disjuncts   := term { "OR" term }
//   term        := [ "NOT" | "-" ] simple
//   simple      := "(" filter ")" | field op value
//   field       := name { "." name }          snake_case is accepted and read as camelCase
//   value       := "string" | 'string' | number | duration (30s, 1.5h) | true | false | bare-text
//
// Bare text is an unquoted word (`state = READY`), which is how enum values are written. Anything
// else — the `:` (has) operator, functions, implicit AND by juxtaposition, wildcards — is rejected
// with an INVALID_ARGUMENT that names the 1-based character position.
import { invalidArgument } from './errors.js';
import { parseDuration } from './duration.js';

export type CompareOp = '=' | '!=' | '<' | '>' | '<=' | '>=';

export type Literal =
  | { type: 'string'; value: string }
  | { type: 'number'; value: number; raw: string }
  | { type: 'bool'; value: boolean }
  | { type: 'duration'; ms: number; raw: string };

export type FilterExpr =
  | { kind: 'and' | 'or'; left: FilterExpr; right: FilterExpr }
  | { kind: 'not'; expr: FilterExpr }
  | { kind: 'cmp'; field: string; op: CompareOp; value: Literal; pos: number };

export interface FilterOptions {
  /**
   * Field paths (camelCase, dotted) that may be filtered on. A path is allowed if it is listed or
   * a listed entry ending in `.*` covers it (`annotations.*`). Omit to allow any path.
   */
  fields?: readonly string[];
  /** Name of the query parameter in errors (default `filter`). */
  param?: string;
}

type TokenKind = 'ident' | 'string' | 'number' | 'duration' | 'op' | 'lparen' | 'rparen' | 'and' | 'or' | 'not' | 'minus' | 'dot' | 'eof';
interface Token {
  kind: TokenKind;
  text: string;
  /** 0-based offset into the filter string. */
  at: number;
  value?: string;
}

const MAX_FILTER_LENGTH = 4096;
const MAX_DEPTH = 32;

function fail(param: string, at: number, rule: string): never {
  throw invalidArgument(param, `position ${at + 1}: ${rule}`, 'FILTER');
}

// ---------- lexer ----------

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;
const DURATION_UNITS = /^(?:h|m|s|ms|us|ns)$/;

function lex(src: string, param: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === '(' || c === ')') {
      out.push({ kind: c === '(' ? 'lparen' : 'rparen', text: c, at: i++ });
    } else if (c === '"' || c === "'") {
      const [value, end] = lexString(src, i, param);
      out.push({ kind: 'string', text: src.slice(start, end), at: start, value });
      i = end;
    } else if (c === '=' || c === '<' || c === '>' || c === '!') {
      const two = src.slice(i, i + 2);
      const op = two === '!=' || two === '<=' || two === '>=' ? two : c;
      if (op === '!') fail(param, i, "unexpected '!' (did you mean '!=' or NOT?)");
      out.push({ kind: 'op', text: op, at: i });
      i += op.length;
    } else if (c === ':') {
      fail(param, i, "the ':' (has) operator is not supported; use '=' instead");
    } else if (c === '.') {
      out.push({ kind: 'dot', text: '.', at: i++ });
    } else if (c === '-' && !DIGIT.test(src[i + 1] ?? '')) {
      out.push({ kind: 'minus', text: '-', at: i++ });
    } else if (DIGIT.test(c) || c === '-') {
      i = lexNumber(src, i, out);
    } else if (IDENT_START.test(c)) {
      while (i < src.length && IDENT_PART.test(src[i]!)) i++;
      const word = src.slice(start, i);
      const kind: TokenKind = word === 'AND' ? 'and' : word === 'OR' ? 'or' : word === 'NOT' ? 'not' : 'ident';
      out.push({ kind, text: word, at: start });
    } else {
      fail(param, i, `unexpected character '${c}'`);
    }
  }
  out.push({ kind: 'eof', text: '', at: src.length });
  return out;
}

function lexString(src: string, start: number, param: string): [string, number] {
  const quote = src[start]!;
  let i = start + 1;
  let value = '';
  while (i < src.length) {
    const c = src[i]!;
    if (c === quote) return [value, i + 1];
    if (c === '\\') {
      const next = src[i + 1];
      if (next === undefined) break;
      value += next === 'n' ? '\n' : next === 't' ? '\t' : next;
      i += 2;
      continue;
    }
    value += c;
    i++;
  }
  return fail(param, start, 'unterminated string');
}

function lexNumber(src: string, start: number, out: Token[]): number {
  let i = start;
  if (src[i] === '-') i++;
  while (i < src.length && /[0-9.eE]/.test(src[i]!)) {
    // exponent sign
    if ((src[i] === 'e' || src[i] === 'E') && (src[i + 1] === '-' || src[i + 1] === '+')) i++;
    i++;
  }
  let unitEnd = i;
  while (unitEnd < src.length && /[a-z]/.test(src[unitEnd]!)) unitEnd++;
  const unit = src.slice(i, unitEnd);
  if (unit !== '' && DURATION_UNITS.test(unit)) {
    out.push({ kind: 'duration', text: src.slice(start, unitEnd), at: start });
    return unitEnd;
  }
  // A number glued to letters (`12abc`): let the parser see the number and complain about the rest.
  out.push({ kind: 'number', text: src.slice(start, i), at: start });
  return i;
}

// ---------- parser ----------

class Parser {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly opts: Required<Pick<FilterOptions, 'param'>> & FilterOptions,
  ) {}

  private peek(): Token {
    return this.tokens[this.i]!;
  }
  private next(): Token {
    return this.tokens[this.i++]!;
  }

  parse(): FilterExpr {
    const expr = this.conjunction();
    const t = this.peek();
    if (t.kind === 'rparen') fail(this.opts.param, t.at, "unbalanced ')'");
    if (t.kind !== 'eof') {
      const hint = t.kind === 'ident' || t.kind === 'string' || t.kind === 'lparen' || t.kind === 'not' ? ' (join conditions with AND or OR)' : '';
      fail(this.opts.param, t.at, `unexpected '${t.text}'${hint}`);
    }
    return expr;
  }

  private conjunction(): FilterExpr {
    let left = this.disjunction();
    while (this.peek().kind === 'and') {
      this.next();
      left = { kind: 'and', left, right: this.disjunction() };
    }
    return left;
  }

  private disjunction(): FilterExpr {
    let left = this.term();
    while (this.peek().kind === 'or') {
      this.next();
      left = { kind: 'or', left, right: this.term() };
    }
    return left;
  }

  private term(): FilterExpr {
    const t = this.peek();
    if (t.kind === 'not' || t.kind === 'minus') {
      this.next();
      return { kind: 'not', expr: this.simple() };
    }
    return this.simple();
  }

  private simple(): FilterExpr {
    const t = this.peek();
    if (t.kind === 'lparen') {
      if (++this.depth > MAX_DEPTH) fail(this.opts.param, t.at, `nesting deeper than ${MAX_DEPTH}`);
      this.next();
      const inner = this.conjunction();
      const close = this.next();
      if (close.kind !== 'rparen') fail(this.opts.param, close.at, close.kind === 'eof' ? "missing ')'" : `expected ')' but found '${close.text}'`);
      this.depth--;
      return inner;
    }
    return this.restriction();
  }

  private restriction(): FilterExpr {
    const first = this.peek();
    const field = this.fieldPath();
    const opTok = this.next();
    if (opTok.kind === 'lparen') fail(this.opts.param, opTok.at, 'functions are not supported');
    if (opTok.kind !== 'op') {
      const found = opTok.kind === 'eof' ? 'end of filter' : `'${opTok.text}'`;
      fail(this.opts.param, opTok.at, `expected a comparison operator (=, !=, <, >, <=, >=) after '${field}' but found ${found}`);
    }
    const op = opTok.text as CompareOp;
    const value = this.literal();
    if (value.type === 'bool' && op !== '=' && op !== '!=') fail(this.opts.param, opTok.at, `'${op}' cannot compare booleans; use = or !=`);
    return { kind: 'cmp', field, op, value, pos: first.at };
  }

  private fieldPath(): string {
    const t = this.next();
    if (t.kind !== 'ident') {
      const found = t.kind === 'eof' ? 'end of filter' : `'${t.text}'`;
      fail(this.opts.param, t.at, `expected a field name but found ${found}`);
    }
    const parts = [t.text];
    while (this.peek().kind === 'dot') {
      this.next();
      const seg = this.next();
      if (seg.kind !== 'ident' && seg.kind !== 'and' && seg.kind !== 'or' && seg.kind !== 'not') fail(this.opts.param, seg.at, "expected a field name after '.'");
      parts.push(seg.text);
    }
    const path = parts.map(snakeToCamel).join('.');
    if (!isAllowedField(path, this.opts.fields)) fail(this.opts.param, t.at, `unknown or unfilterable field '${parts.join('.')}'`);
    return path;
  }

  private literal(): Literal {
    const t = this.next();
    switch (t.kind) {
      case 'string':
        return { type: 'string', value: t.value ?? '' };
      case 'number': {
        const n = Number(t.text);
        if (!Number.isFinite(n) || !/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t.text)) fail(this.opts.param, t.at, `'${t.text}' is not a number`);
        return { type: 'number', value: n, raw: t.text };
      }
      case 'duration':
        return { type: 'duration', ms: this.duration(t), raw: t.text };
      case 'ident':
        if (t.text === 'true' || t.text === 'false') return { type: 'bool', value: t.text === 'true' };
        return { type: 'string', value: t.text };
      default: {
        const found = t.kind === 'eof' ? 'end of filter' : `'${t.text}'`;
        return fail(this.opts.param, t.at, `expected a value (quote text that contains spaces or symbols) but found ${found}`);
      }
    }
  }

  private duration(t: Token): number {
    try {
      return parseDuration(t.text, this.opts.param);
    } catch {
      return fail(this.opts.param, t.at, `'${t.text}' is not a valid duration`);
    }
  }
}

export function snakeToCamel(s: string): string {
  return s.replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function isAllowedField(path: string, fields: readonly string[] | undefined): boolean {
  if (!fields) return true;
  return fields.some((f) => f === path || (f.endsWith('.*') && path.startsWith(f.slice(0, -1)) && path.length > f.length - 1));
}

/** Parses a filter; an empty or blank filter is `undefined` (matches everything). */
export function parseFilter(filter: string | undefined, options: FilterOptions = {}): FilterExpr | undefined {
  const param = options.param ?? 'filter';
  if (filter === undefined || filter.trim() === '') return undefined;
  if (filter.length > MAX_FILTER_LENGTH) throw invalidArgument(param, `must be at most ${MAX_FILTER_LENGTH} characters`, 'MAX_LENGTH');
  return new Parser(lex(filter, param), { ...options, param }).parse();
}

// ---------- evaluation ----------

/** Reads a dotted path from a JSON-like object; `undefined` when any step is missing. */
export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const seg of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** True if `obj` (a wire-shaped resource) satisfies `expr`; no filter matches everything. */
export function matchesFilter(expr: FilterExpr | undefined, obj: unknown): boolean {
  if (!expr) return true;
  switch (expr.kind) {
    case 'and':
      return matchesFilter(expr.left, obj) && matchesFilter(expr.right, obj);
    case 'or':
      return matchesFilter(expr.left, obj) || matchesFilter(expr.right, obj);
    case 'not':
      return !matchesFilter(expr.expr, obj);
    case 'cmp': {
      const actual = getPath(obj, expr.field);
      // A repeated field matches if any element does.
      if (Array.isArray(actual)) return actual.some((a) => compareWith(a, expr.op, expr.value));
      return compareWith(actual, expr.op, expr.value);
    }
  }
}

function compareWith(actual: unknown, op: CompareOp, lit: Literal): boolean {
  const c = compareToLiteral(withDefault(actual, lit), lit);
  if (c === undefined) return op === '!=';
  switch (op) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '>':
      return c > 0;
    case '<=':
      return c <= 0;
    case '>=':
      return c >= 0;
  }
}

/** proto3 JSON omits default values: an absent field reads as the literal type's zero value. */
function withDefault(actual: unknown, lit: Literal): unknown {
  if (actual !== undefined && actual !== null) return actual;
  switch (lit.type) {
    case 'number':
      return 0;
    case 'bool':
      return false;
    case 'duration':
      return '0s';
    case 'string':
      return '';
  }
}

/** -1/0/1 comparing the field's value with the literal; undefined when they are not comparable. */
function compareToLiteral(actual: unknown, lit: Literal): number | undefined {
  switch (lit.type) {
    case 'bool':
      return typeof actual === 'boolean' ? Number(actual) - Number(lit.value) : typeof actual === 'string' && (actual === 'true' || actual === 'false') ? Number(actual === 'true') - Number(lit.value) : undefined;
    case 'number':
      return compareNumeric(actual, lit.raw);
    case 'duration': {
      const ms = durationMs(actual);
      return ms === undefined ? undefined : Math.sign(ms - lit.ms);
    }
    case 'string':
      return compareString(actual, lit.value);
  }
}

const NUMBER_TEXT = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function compareNumeric(actual: unknown, raw: string): number | undefined {
  if (!NUMBER_TEXT.test(raw)) return undefined;
  let a: string;
  if (typeof actual === 'number') a = String(actual);
  else if (typeof actual === 'string' && NUMBER_TEXT.test(actual.trim())) a = actual.trim();
  else return undefined;
  // Exact for int64 strings beyond 2^53; floating point otherwise.
  if (/^-?\d+$/.test(a) && /^-?\d+$/.test(raw)) {
    const x = BigInt(a);
    const y = BigInt(raw);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return Math.sign(Number(a) - Number(raw));
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function compareString(actual: unknown, value: string): number | undefined {
  if (typeof actual === 'number') return compareNumeric(actual, value.trim());
  if (typeof actual === 'boolean') return value === 'true' || value === 'false' ? Number(actual) - Number(value === 'true') : undefined;
  if (typeof actual !== 'string') return undefined;
  if (TIMESTAMP.test(actual) && TIMESTAMP.test(value)) return Math.sign(Date.parse(actual) - Date.parse(value));
  return actual < value ? -1 : actual > value ? 1 : 0;
}

function durationMs(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    return parseDuration(v, 'value');
  } catch {
    return undefined;
  }
}

/** Parse once, evaluate many: a predicate for Array.filter. */
export function compileFilter(filter: string | undefined, options: FilterOptions = {}): (obj: unknown) => boolean {
  const expr = parseFilter(filter, options);
  return (obj) => matchesFilter(expr, obj);
}
