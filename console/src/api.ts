// The console's one way to the server: the REST API under /v1 with the signed-in key as a Bearer
// token. The key lives in sessionStorage (this tab only, gone when it closes), never in a URL.
const KEY = 'hearth.apiKey';
const ACCOUNT = 'hearth.accountId';

export interface Session {
  key: string;
  accountId: string;
}

export function currentSession(): Session | undefined {
  const key = sessionStorage.getItem(KEY);
  const accountId = sessionStorage.getItem(ACCOUNT);
  return key && accountId ? { key, accountId } : undefined;
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(ACCOUNT);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function call<T>(key: string, path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`/v1${path}`, { ...init, headers: { ...(init.headers ?? {}), authorization: `Bearer ${key}`, accept: 'application/json' } });
  const text = await res.text();
  const body = text ? (JSON.parse(text) as unknown) : {};
  if (!res.ok) throw new ApiError(res.status, (body as { message?: string }).message ?? `HTTP ${res.status}`);
  return body as T;
}

/** Checks the key (GET /v1/accounts lists the caller's account) and keeps it for this tab. */
export async function signIn(key: string): Promise<Session> {
  const { accounts } = await call<{ accounts?: { name: string }[] }>(key, '/accounts');
  const name = accounts?.[0]?.name;
  if (!name) throw new ApiError(403, 'this key sees no account');
  const accountId = name.replace(/^accounts\//, '');
  sessionStorage.setItem(KEY, key);
  sessionStorage.setItem(ACCOUNT, accountId);
  return { key, accountId };
}

/** GET of a path under the signed-in account (`/deployments` → /v1/accounts/{a}/deployments). */
export function get<T>(s: Session, path: string): Promise<T> {
  return call<T>(s.key, `/accounts/${encodeURIComponent(s.accountId)}${path}`);
}

/** Every page of a list (`pageSize` 200). */
export async function listAll<T>(s: Session, path: string, field: string): Promise<T[]> {
  const out: T[] = [];
  let token = '';
  for (let i = 0; i < 50; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await get<Record<string, unknown>>(s, `${path}${sep}pageSize=200${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`);
    out.push(...((page[field] as T[] | undefined) ?? []));
    token = (page.nextPageToken as string | undefined) ?? '';
    if (!token) break;
  }
  return out;
}

export const idOf = (name: string | undefined): string => (name ?? '').split('/').pop() ?? '';
