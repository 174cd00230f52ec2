/**
 * booktape's one error model. Every failure booktape reports is a
 * BooktapeError: a stable `code` a caller can branch on, a message a user can
 * act on, and a `kind`. The HTTP status, the CLI exit code, whether a job is
 * retried and the log level all derive from the kind, in FAILURE_KINDS below,
 * and nowhere else. Node's and libraries' errors are mapped to one at the
 * boundary where they arise (a store maps its driver's errors, the CLI maps a
 * missing file), so nothing is classified by the shape of its code.
 */

export type FailureKind =
  /** The input is wrong (a parameter, a file, a setting): fix it and ask again. */
  | 'invalid'
  /** What was named does not exist. */
  | 'not-found'
  /** No credentials, or wrong ones. */
  | 'unauthorized'
  /** Refused whatever the credentials (a source outside the allow-lists, writes disabled). */
  | 'forbidden'
  /** The request body is over its limit. */
  | 'too-large'
  /** The request body is not in a media type the route takes. */
  | 'unsupported-media'
  /** Something booktape needs (the store, Redis, a remote source) does not answer or is out of resources: the same call may succeed later. */
  | 'unavailable'
  /** A defect or an unforeseen failure: logged with its stack, shown to the user by code only. */
  | 'internal';

export type LogLevel = 'info' | 'warn' | 'error';

export interface FailureTraits {
  httpStatus: number;
  /** 2: the user or operator must act (fix the input or a setting, start what did not answer); 1: a defect. */
  exitCode: number;
  /** Whether a job that failed this way is retried. */
  retryable: boolean;
  logLevel: LogLevel;
}

/** The one table: what each kind of failure means to every caller. */
export const FAILURE_KINDS: Readonly<Record<FailureKind, FailureTraits>> = {
  invalid: { httpStatus: 400, exitCode: 2, retryable: false, logLevel: 'info' },
  'not-found': { httpStatus: 404, exitCode: 2, retryable: false, logLevel: 'info' },
  unauthorized: { httpStatus: 401, exitCode: 2, retryable: false, logLevel: 'info' },
  forbidden: { httpStatus: 403, exitCode: 2, retryable: false, logLevel: 'info' },
  'too-large': { httpStatus: 413, exitCode: 2, retryable: false, logLevel: 'info' },
  'unsupported-media': { httpStatus: 415, exitCode: 2, retryable: false, logLevel: 'info' },
  unavailable: { httpStatus: 503, exitCode: 2, retryable: true, logLevel: 'warn' },
  internal: { httpStatus: 500, exitCode: 1, retryable: true, logLevel: 'error' },
};

/**
 * The kind a booktape answer's HTTP status stands for (FAILURE_KINDS read
 * backwards), for a client of the API, or of the TCP port, whose error lines
 * carry the same status. A status outside the table: 5xx unavailable, else invalid.
 */
export function kindOfStatus(status: number): FailureKind {
  const kind = (Object.keys(FAILURE_KINDS) as FailureKind[]).find((k) => FAILURE_KINDS[k].httpStatus === status);
  return kind ?? (status >= 500 ? 'unavailable' : 'invalid');
}

export class BooktapeError extends Error {
  constructor(
    readonly code: string,
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
  }

  get traits(): FailureTraits {
    return FAILURE_KINDS[this.kind];
  }

  /** The fields that survive a thread boundary or a queue (see fromJSON). */
  toJSON(): SerializedError {
    return { code: this.code, kind: this.kind, message: this.message };
  }
}

export interface SerializedError {
  code: string;
  kind: FailureKind;
  message: string;
}

/** The failure of something not ours: only its code is shown, the rest is logged. */
export const INTERNAL = 'INTERNAL';

/** Node's system error codes that mean "a service did not answer": a network peer, not booktape. */
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE']);

/**
 * Any thrown value as a BooktapeError. Ours pass through; Node's system
 * errors map by errno (a missing file is NOT_FOUND, a refused connection is
 * unavailable); everything else is internal, keeping its message for the log.
 */
export function toBooktapeError(err: unknown): BooktapeError {
  if (err instanceof BooktapeError) return err;
  const e = err as NodeJS.ErrnoException | null | undefined;
  const message = String(e?.message ?? err);
  if (e instanceof Error && typeof e.errno === 'number' && typeof e.code === 'string') {
    if (e.code === 'ENOENT') return new BooktapeError('NOT_FOUND', 'not-found', `no such file: ${e.path ?? ''}`);
    if (e.code === 'EACCES' || e.code === 'EPERM') return new BooktapeError('PERMISSION_DENIED', 'forbidden', `permission denied: ${e.path ?? ''}`);
    if (e.code === 'EISDIR') return new BooktapeError('NOT_A_FILE', 'invalid', `is a directory, not a file: ${e.path ?? ''}`);
    if (UNAVAILABLE_ERRNO.has(e.code)) return new BooktapeError('UNAVAILABLE', 'unavailable', `${e.code}: ${message}`);
  }
  return new BooktapeError(INTERNAL, 'internal', message);
}

/** True for a failure that is not the caller's fault and may pass: the store or a network peer did not answer. */
export function isUnavailable(err: unknown): err is BooktapeError {
  return err instanceof BooktapeError && err.kind === 'unavailable';
}
