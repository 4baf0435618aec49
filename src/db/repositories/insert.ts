import { AlreadyExistsError, NotFoundError, isForeignKeyViolation } from '../errors.js';
import { accountName } from './names.js';

/** Runs an `INSERT … ON CONFLICT DO NOTHING RETURNING`: no row → ALREADY_EXISTS; no account → NOT_FOUND. */
export async function insertOrExists<T>(insert: () => Promise<T[]>, kind: string, name: string, accountId: string): Promise<T> {
  let rows: T[];
  try {
    rows = await insert();
  } catch (e) {
    if (isForeignKeyViolation(e)) throw new NotFoundError('account', accountName(accountId));
    throw e;
  }
  if (!rows[0]) throw new AlreadyExistsError(kind, name);
  return rows[0];
}
