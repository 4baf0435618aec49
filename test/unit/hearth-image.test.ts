// The Dockerfile is Hearth's production recipe; hack/lib/hearth-images.ts assembles the same image
// without Docker for the real node (issue 18 item 2). Both must start the same program as the same
// user: entry point, command, user, working directory and the Dockerfile's environment.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../hack/lib/cluster.js';
import { dockerfileRuntimeConfig, HEARTH_IMAGE_CONFIG, MODEL_SERVER_IMAGE_CONFIG, NONROOT } from '../../hack/lib/hearth-images.js';

const dockerfile = dockerfileRuntimeConfig(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));

describe('Hearth image: the Dockerfile and the assembled recipe agree', () => {
  it('reads the Dockerfile final stage', () => {
    expect(dockerfile.Entrypoint?.length).toBeGreaterThan(0);
    expect(dockerfile.User).toBeTruthy();
  });

  it('has the same entry point, command, user and working directory', () => {
    expect(HEARTH_IMAGE_CONFIG.Entrypoint).toEqual(dockerfile.Entrypoint);
    expect(HEARTH_IMAGE_CONFIG.Cmd).toEqual(dockerfile.Cmd);
    expect(HEARTH_IMAGE_CONFIG.User).toBe(dockerfile.User);
    expect(HEARTH_IMAGE_CONFIG.WorkingDir).toBe(dockerfile.WorkingDir);
  });

  it("carries every variable the Dockerfile sets", () => {
    for (const kv of dockerfile.Env ?? []) expect(HEARTH_IMAGE_CONFIG.Env).toContain(kv);
  });

  it('runs as a non-root user, and so does the model-server fixture image', () => {
    expect(HEARTH_IMAGE_CONFIG.User).toBe(NONROOT);
    expect(MODEL_SERVER_IMAGE_CONFIG.User).toBe(NONROOT);
    expect(NONROOT.split(':').map(Number).every((id) => id > 0)).toBe(true);
  });

  it('parses exec-form ENTRYPOINT/CMD, USER, WORKDIR and ENV of the last stage only', () => {
    const cfg = dockerfileRuntimeConfig(
      ['FROM a AS build', 'USER 0', 'ENTRYPOINT ["x"]', 'FROM b', 'WORKDIR /w', 'ENV A=1 B=2', 'USER 7:8', 'ENTRYPOINT ["/bin/p", \\', '  "m.js"]', 'CMD ["run"]'].join('\n'),
    );
    expect(cfg).toEqual({ Entrypoint: ['/bin/p', 'm.js'], Cmd: ['run'], User: '7:8', WorkingDir: '/w', Env: ['A=1', 'B=2'] });
  });
});
