// drizzle-kit: `npm run db:generate` writes SQL migrations from src/db/schema into
// src/db/migrations (committed; applied at start by migrate() in src/db/client.ts).
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/index.ts',
  out: './src/db/migrations',
  strict: true,
  verbose: true,
});
