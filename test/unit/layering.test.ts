// The layer rule (eslint.config.js, ARCHITECTURE §8) refuses forbidden imports: the fixture and a
// table of imports are linted as if they sat at the given path under src/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

// The layer rule needs no type information: lint without the type-aware parser, so the virtual
// paths below need not exist.
const eslint = new ESLint({
  cwd: root,
  overrideConfig: [
    {
      files: ['**/*.ts'],
      languageOptions: { parserOptions: { projectService: false } },
      rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
    },
  ],
});

async function layerErrors(code: string, path: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, path) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer rule', () => {
  it('refuses the fixture: the gateway importing the REST API', async () => {
    const fixture = readFileSync(join(root, 'test/fixtures/lint/gateway-imports-api.ts'), 'utf8');
    const errors = await layerErrors(fixture, 'src/gateway/lint-fixture.ts');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/src\/gateway may not import src\/api/);
  });

  const use = (spec: string): string => `import * as m from '${spec}';\nexport const x = m;\n`;
  it.each([
    ['src/gateway/x.ts', '../api/app.js', true],
    ['src/gateway/x.ts', '../controllers/autoscaler/index.js', true],
    ['src/api/collections/x.ts', '../../gateway/catalog.js', true],
    ['src/api/x.ts', '../config.js', true],
    ['src/controllers/deployment/x.ts', '../metering/metering.js', true],
    ['src/controllers/deployment/children/x.ts', '../../autoscaler/index.js', true],
    ['src/controllers/metering/x.ts', '../../api/app.js', true],
    ['src/controllers/runtime/x.ts', '../deployment/reconciler.js', true],
    ['src/crds/x.ts', '../kube/client.js', true],
    ['src/fleet/x.ts', '../log.js', true],
    ['src/kube/x.ts', '../controllers/runtime/writer.js', true],
    ['src/db/x.ts', '../api/app.js', true],
    // The CLI is a REST client: no server code, kube, database or CRD schemas; nothing imports it.
    ['src/cli/x.ts', '../api/wire/errors.js', true],
    ['src/cli/commands/x.ts', '../../db/client.js', true],
    ['src/cli/x.ts', '../kube/client.js', true],
    ['src/cli/x.ts', '../crds/deployment.js', true],
    ['src/cli/x.ts', '../log.js', true],
    ['src/api/x.ts', '../cli/client.js', true],
    ['src/kube/x.ts', '../cli/client.js', true],
    // Allowed: down the layers, within a folder, the runtime from a controller, wiring from main.
    ['src/gateway/x.ts', '../crds/group.js', false],
    ['src/gateway/x.ts', '../auth/authenticator.js', false],
    ['src/api/collections/x.ts', '../routes/common.js', false],
    ['src/controllers/deployment/x.ts', '../runtime/writer.js', false],
    ['src/controllers/deployment/children/x.ts', '../../../kube/client.js', false],
    ['src/controllers/manager.ts', './deployment/controller.js', false],
    ['src/main.ts', './api/app.js', false],
    ['src/kube/x.ts', '../util/clock.js', false],
    ['src/cli/commands/x.ts', '../../util/clock.js', false],
    ['src/cli/commands/x.ts', '../client.js', false],
    // Tests may wire layers together.
    ['src/gateway/x.test.ts', '../controllers/autoscaler/index.js', false],
  ])('%s importing %s: refused %s', async (path, spec, refused) => {
    const errors = await layerErrors(use(spec), path);
    expect(errors.length > 0).toBe(refused);
  });
});
