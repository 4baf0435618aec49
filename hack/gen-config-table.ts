// `npm run gen:config-table`: rewrites README.md's configuration table from src/config.ts's schema
// (between the config-table markers). src/config.test.ts fails when the two differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configTable } from '../src/config.js';

const path = join(import.meta.dirname, '..', 'README.md');
const readme = readFileSync(path, 'utf8');
const begin = '<!-- config-table:begin -->\n';
const end = '<!-- config-table:end -->';
const from = readme.indexOf(begin);
const to = readme.indexOf(end);
if (from < 0 || to < from) throw new Error(`README.md: no ${begin.trim()} … ${end} block`);
writeFileSync(path, readme.slice(0, from + begin.length) + configTable() + readme.slice(to));
console.log('README.md: configuration table rewritten from src/config.ts');
