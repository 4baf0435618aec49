// No string a client sends may contain U+0000: PostgreSQL's text type cannot store it, so an id,
// query parameter or body field with a NUL that reached a query answered 500 (found by the REST
// fuzz: `GET …/users/%00`). Refused before validation, for every route, as INVALID_ARGUMENT naming
// the parameter or the field (`labels."a"`, `items[2].name`), keys included.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { invalidArgument } from '../wire/errors.js';

const RULE = 'must not contain the NUL character (U+0000)';

const keyOf = (k: string): string => (k === '' || /[\s.[\]]/.test(k) || [...k].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f') ? JSON.stringify(k) : k);

/** A value's children with their paths, and whether a key itself holds a NUL. */
function childrenOf(v: unknown, path: string): { children: [unknown, string][]; badKey?: string } {
  if (Array.isArray(v)) return { children: v.map((x, i): [unknown, string] => [x, `${path}[${i}]`]).reverse() };
  if (v === null || typeof v !== 'object') return { children: [] };
  const children: [unknown, string][] = [];
  for (const [k, x] of Object.entries(v)) {
    const at = path === '' ? keyOf(k) : `${path}.${keyOf(k)}`;
    if (k.includes('\u0000')) return { children, badKey: at };
    children.push([x, at]);
  }
  return { children };
}

/** The path of the first string (value or key) in `value` that holds a NUL, or undefined. Iterative: bodies may nest deeply. */
export function findNul(value: unknown, root: string): string | undefined {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return path;
      continue;
    }
    const { children, badKey } = childrenOf(v, path);
    if (badKey !== undefined) return badKey;
    stack.push(...children);
  }
  return undefined;
}

async function noNul(app: FastifyInstance): Promise<void> {
  app.addHook('preValidation', async (request: FastifyRequest) => {
    for (const [name, v] of Object.entries((request.params ?? {}) as Record<string, unknown>)) {
      if (typeof v === 'string' && v.includes('\u0000')) throw invalidArgument(name === '*' ? '(path)' : name, RULE, 'NUL_CHARACTER');
    }
    const inQuery = findNul(request.query, '');
    if (inQuery !== undefined) throw invalidArgument(inQuery || '(query)', RULE, 'NUL_CHARACTER');
    const inBody = findNul(request.body, '');
    if (inBody !== undefined) throw invalidArgument(inBody || '(body)', RULE, 'NUL_CHARACTER');
  });
}

export default fp(noNul, { name: 'hearth-no-nul', fastify: '5.x' });
