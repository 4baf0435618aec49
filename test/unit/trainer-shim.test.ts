// The trainer shim's own unit tests (trainer/test_hearth_trainer.py, Python standard library only:
// the shim is Python) run in the unit project, so `npm test` and CI run them with the rest.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

it('trainer/hearth-trainer: its Python unit tests pass', async () => {
  const { stderr } = await promisify(execFile)('python3', ['-m', 'unittest', 'discover', '-s', 'trainer', '-p', 'test_*.py'], { timeout: 30_000 }).catch((e: { stdout: string; stderr: string }) => {
    throw new Error(`python3 -m unittest failed:\n${e.stderr}${e.stdout}`);
  });
  expect(stderr).toMatch(/^OK$/m);
}, 30_000);
