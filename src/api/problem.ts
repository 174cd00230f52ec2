import type { NextFunction, Request, Response } from 'express';
import { ZodError } from 'zod';
import { BooktapeError, FAILURE_KINDS, toBooktapeError, type FailureKind } from '../errors.js';
import { ScopeError } from '../stream/symbols.js';

/**
 * An API error as RFC 9457 problem+json: a stable `code`, a `detail` a user
 * can act on, and the offending `field` for validation errors. The status
 * comes from the kind (FAILURE_KINDS), as for every other booktape error.
 */
export class Problem extends BooktapeError {
  constructor(
    kind: FailureKind,
    code: string,
    readonly detail: string,
    readonly field?: string,
  ) {
    super(code, kind, detail);
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 413: 'Content Too Large',
  415: 'Unsupported Media Type', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

/** The body of every error answer (see ProblemSchema in openapi.ts). */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  field?: string;
}

export function problemBody(e: BooktapeError): ProblemBody {
  const status = e.traits.httpStatus;
  const field = e instanceof Problem || e instanceof ScopeError ? e.field : undefined;
  return {
    type: `https://booktape.dev/problems/${e.code.toLowerCase().replace(/_/g, '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    code: e.code,
    detail: e.message,
    ...(field ? { field } : {}),
  };
}

export function sendProblem(res: Response, e: BooktapeError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = problemBody(e);
  res.status(body.status).type('application/problem+json').send(JSON.stringify(body));
}

export function fromZod(err: ZodError): Problem {
  const issue = err.issues[0];
  const field = issue.path.join('.') || undefined;
  return new Problem('invalid', 'INVALID_PARAMETER', field ? `${field}: ${issue.message}` : issue.message, field);
}

export const bodyTooLarge = (limitBytes: number) => new Problem('too-large', 'BODY_TOO_LARGE', `the request body is over its limit of ${limitBytes} bytes`);

/**
 * What the request itself got wrong before a route saw it, as Express's
 * router and body-parser report it (http-errors with a 4xx status): a
 * malformed %-escape in the path, a body that cannot be read as sent.
 */
function fromTransport(err: unknown): Problem | null {
  const e = err as { status?: unknown; type?: unknown; charset?: unknown; encoding?: unknown; limit?: unknown } | null;
  if (e === null || typeof e !== 'object' || typeof e.status !== 'number' || e.status < 400 || e.status >= 500) return null;
  if (err instanceof URIError) return new Problem('invalid', 'INVALID_PATH', 'the path has a malformed %-escape: escape each byte of UTF-8 as %XX');
  switch (e.type) {
    case 'entity.parse.failed': return new Problem('invalid', 'INVALID_JSON', 'the request body is not valid JSON');
    case 'entity.too.large': return bodyTooLarge(Number(e.limit));
    case 'charset.unsupported': return new Problem('unsupported-media', 'UNSUPPORTED_MEDIA_TYPE', `charset ${String(e.charset ?? '')} is not supported: send the body as UTF-8 JSON`);
    case 'encoding.unsupported': return new Problem('unsupported-media', 'UNSUPPORTED_MEDIA_TYPE', `content-encoding ${String(e.encoding ?? '')} is not supported: send identity, gzip, deflate or br`);
    default: return new Problem('invalid', 'INVALID_BODY', 'the request body cannot be read as its headers describe it (content-encoding, length)');
  }
}

/**
 * The last middleware: every error leaves as problem+json, never as a stack
 * trace, and is logged at its kind's level (internal ones with the stack).
 */
export function problemHandler(log: (level: 'info' | 'warn' | 'error', err: BooktapeError, cause: unknown) => void) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    const e = err instanceof ZodError ? fromZod(err) : fromTransport(err) ?? toBooktapeError(err);
    log(FAILURE_KINDS[e.kind].logLevel, e, err);
    if (e.kind === 'internal') return sendProblem(res, new Problem('internal', 'INTERNAL', 'an unexpected error occurred; it has been logged'));
    sendProblem(res, e);
  };
}
