// The console's calls to beibao-server (same origin, `/api/v1`), typed by the generated Rust
// types. A session is a bearer token kept for the browser tab (sessionStorage): closing the tab
// ends it, and the server ends it after a shift. Every failure is the API's `{code, message}`.
import type { ErrorBody } from '../generated/ErrorBody';
import type { LoginResponse } from '../generated/LoginResponse';

const KEY = 'beibao.console.session';
export const API = '/api/v1';

/** A failed call: the server's code (or `link` when it could not be reached). */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function savedSession(): LoginResponse | null {
  try {
    const raw = globalThis.sessionStorage?.getItem(KEY);
    const s = raw ? (JSON.parse(raw) as LoginResponse) : null;
    return s && new Date(s.expires_at).getTime() > Date.now() ? s : null;
  } catch {
    return null;
  }
}

export function keepSession(s: LoginResponse | null): void {
  if (s) globalThis.sessionStorage?.setItem(KEY, JSON.stringify(s));
  else globalThis.sessionStorage?.removeItem(KEY);
}

async function failure(resp: Response): Promise<ApiFailure> {
  try {
    const e = (await resp.json()) as ErrorBody;
    return new ApiFailure(resp.status, e.code, e.message);
  } catch {
    return new ApiFailure(resp.status, 'internal', `HTTP ${resp.status}`);
  }
}

/** A call; `token` is the session's. The answer is JSON, or the raw response for a file. */
export async function call(path: string, init: { token?: string; method?: string; body?: unknown } = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  let resp: Response;
  try {
    resp = await fetch(`${API}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  } catch (e) {
    throw new ApiFailure(0, 'link', String(e));
  }
  if (!resp.ok) throw await failure(resp);
  return resp;
}

export async function json<T>(path: string, init: { token?: string; method?: string; body?: unknown } = {}): Promise<T> {
  return (await (await call(path, init)).json()) as T;
}

/** Where this browser keeps the known-client token the server gave it for an account: given
 *  back at the next login, it keeps the account's owner in when a stranger has spent the
 *  account's login attempts guessing. */
function clientKey(username: string): string {
  return `beibao.console.client.${username}`;
}

export async function login(username: string, password: string): Promise<LoginResponse> {
  let client: string | undefined;
  try {
    client = localStorage.getItem(clientKey(username)) ?? undefined;
  } catch {
    client = undefined;
  }
  const session = await json<LoginResponse>('/accounts/login', { body: { username, password, client } });
  try {
    localStorage.setItem(clientKey(session.username), session.client);
  } catch {
    // Storage refused (private mode): the next login counts like a new browser's.
  }
  return session;
}

export async function logout(token: string): Promise<void> {
  await call('/accounts/logout', { token, method: 'POST' }).catch(() => undefined);
}

/** A query string from the defined values. */
export function query(values: Record<string, string | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== null && v !== undefined && v !== '') q.set(k, v);
  return q.toString();
}

/** Fetch a file (an export) and hand it to the browser as a download named by the server. */
export async function download(path: string, token: string): Promise<{ name: string; size: number }> {
  const resp = await call(path, { token });
  const blob = await resp.blob();
  const disposition = resp.headers.get('content-disposition') ?? '';
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? 'beibao-export';
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { name, size: blob.size };
}
