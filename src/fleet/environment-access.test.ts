import { describe, expect, it } from 'vitest';
import { environmentAccessMessage, mayUseEnvironment } from './environment-access.js';

const mine = { metadata: { annotations: { 'hearth.dev/created-by': 'alice@acme.test' } }, spec: {} };
const shared = { ...mine, spec: { shared: true } };
const noCreator = { metadata: {}, spec: {} };

describe('mayUseEnvironment', () => {
  const cases: Array<[string, Parameters<typeof mayUseEnvironment>[0], string, string, boolean]> = [
    ['the creator', mine, 'alice@acme.test', 'user', true],
    ['the creator, e-mail case differs', mine, 'Alice@Acme.test', 'user', true],
    ['another user, not shared', mine, 'bob@acme.test', 'user', false],
    ['another user, shared', shared, 'bob@acme.test', 'user', true],
    ['an admin, not shared', mine, 'root@acme.test', 'admin', true],
    ['no creator recorded, a user', noCreator, 'bob@acme.test', 'user', false],
    ['no creator recorded, shared', { ...noCreator, spec: { shared: true } }, 'bob@acme.test', 'user', true],
  ];
  it.each(cases)('%s', (_, env, email, role, ok) => expect(mayUseEnvironment(env, { email, role })).toBe(ok));

  it('the refusal names the environment and who may', () => {
    expect(environmentAccessMessage('accounts/acme/environments/dev', mine)).toBe(
      'environment "accounts/acme/environments/dev" is not shared: only its creator alice@acme.test and account admins may connect it or run jobs in it (set shared: true to let every user of the account)',
    );
    expect(environmentAccessMessage('e', noCreator)).toContain('only account admins may');
  });
});
