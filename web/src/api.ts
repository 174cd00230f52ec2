/**
 * The API as the page calls it: the read token (asked for once, kept for the
 * tab) on every request, and every failure as an ApiError with the API's own
 * code and detail (problem+json), so the page can show it.
 */
const TOKEN_KEY = 'booktape.readToken';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, readonly detail: string) {
    super(detail);
  }
}

export function readToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setReadToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function headers(): HeadersInit {
  const token = readToken();
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

/** The API's problem+json as an ApiError; anything else by its status. */
export async function failure(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => null)) as { code?: string; detail?: string } | null;
  return new ApiError(res.status, body?.code ?? `HTTP_${res.status}`, body?.detail ?? `${res.status} ${res.statusText}`);
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { headers: headers(), signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', `the server did not answer (${(err as Error).message}); is booktape serve running?`);
  }
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}
