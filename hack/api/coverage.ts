// `npm run api:coverage`: for every operation of the published spec (spec/fireworks-gateway-openapi.yml,
// through the generated table), whether Hearth serves it — as its own /openapi.json documents — or
// answers 501 UNIMPLEMENTED (a collection Hearth serves, an operation it lacks), or does not have
// the collection at all (404); then the totals by collection, and the operations Hearth serves
// beyond the spec. Builds the app on in-memory PGlite; no cluster, no network.
import { openDatabase } from '../../src/db/client.js';
import { buildApp } from '../../src/api/app.js';
import { PUBLISHED_OPERATIONS, shapeOf, collectionOf, publishedOperation } from '../../src/api/plugins/published-spec.js';
import { unimplementedOperations } from '../../src/api/plugins/unimplemented.js';

type Status = 'served' | '501' | 'absent';

async function servedKeys(): Promise<Set<string>> {
  const database = await openDatabase();
  try {
    const app = await buildApp({ db: database.db, rateLimit: false });
    const doc = JSON.parse((await app.inject({ method: 'GET', url: '/openapi.json' })).body) as { paths: Record<string, Record<string, unknown>> };
    await app.close();
    return new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${shapeOf(path)}`)));
  } finally {
    await database.close();
  }
}

const served = await servedKeys();
const unimplemented = new Set(unimplementedOperations(served).map((op) => `${op.method} ${op.path}`));
const statusOf = (method: string, path: string): Status => (served.has(`${method} ${shapeOf(path)}`) ? 'served' : unimplemented.has(`${method} ${path}`) ? '501' : 'absent');

const byCollection = new Map<string, Record<Status, number>>();
const rows: string[] = [];
for (const op of PUBLISHED_OPERATIONS) {
  const status = statusOf(op.method, op.path);
  const totals = byCollection.get(op.collection) ?? { served: 0, '501': 0, absent: 0 };
  totals[status]++;
  byCollection.set(op.collection, totals);
  rows.push(`${status.padEnd(7)} ${op.method.padEnd(6)} ${op.path}  (${op.operationId})`);
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(`Published operations (${PUBLISHED_OPERATIONS.length}): served = documented at /openapi.json; 501 = UNIMPLEMENTED in a served collection; absent = collection not served (404)\n`);
console.log(rows.join('\n'));
console.log(`\n${'collection'.padEnd(32)} ${pad('ops', 4)} ${pad('served', 7)} ${pad('501', 5)} ${pad('absent', 7)}`);
const sum: Record<Status, number> = { served: 0, '501': 0, absent: 0 };
for (const [collection, t] of [...byCollection].sort(([a], [b]) => a.localeCompare(b))) {
  for (const k of Object.keys(sum) as Status[]) sum[k] += t[k];
  console.log(`${collection.padEnd(32)} ${pad(t.served + t['501'] + t.absent, 4)} ${pad(t.served, 7)} ${pad(t['501'], 5)} ${pad(t.absent, 7)}`);
}
console.log(`${'total'.padEnd(32)} ${pad(PUBLISHED_OPERATIONS.length, 4)} ${pad(sum.served, 7)} ${pad(sum['501'], 5)} ${pad(sum.absent, 7)}`);

const extra = [...served].filter((k) => k.includes(' /v1/') && !publishedOperation(k.slice(0, k.indexOf(' ')), k.slice(k.indexOf(' ') + 1)));
console.log(`\nServed by Hearth, not in the published spec (${extra.length}):`);
for (const k of extra.sort()) console.log(`  ${k}  [${collectionOf(k.slice(k.indexOf(' ') + 1))}]`);
