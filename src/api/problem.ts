import type { NextFunction, Request, Response } from 'express';
import { ZodError } from 'zod';
import { BooktapeError, FAILURE_KINDS, toBooktapeError, type FailureKind } from '../errors.js';

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
  const field = e instanceof Problem ? e.field : undefined;
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

/** body-parser's errors, mapped where they arise: the request's body, not booktape, is at fault. */
function fromBodyParser(err: unknown): Problem | null {
  const type = (err as { type?: unknown } | null)?.type;
  if (type === 'entity.parse.failed') return new Problem('invalid', 'INVALID_JSON', 'the request body is not valid JSON');
  if (type === 'entity.too.large') return new Problem('too-large', 'BODY_TOO_LARGE', 'the request body is over its 16 kB limit');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return new Problem('unsupported-media', 'UNSUPPORTED_MEDIA_TYPE', 'send the body as UTF-8 JSON');
  return null;
}

/**
 * The last middleware: every error leaves as problem+json, never as a stack
 * trace, and is logged at its kind's level (internal ones with the stack).
 */
export function problemHandler(log: (level: 'info' | 'warn' | 'error', err: BooktapeError, cause: unknown) => void) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    const e = err instanceof ZodError ? fromZod(err) : fromBodyParser(err) ?? toBooktapeError(err);
    log(FAILURE_KINDS[e.kind].logLevel, e, err);
    if (e.kind === 'internal') return sendProblem(res, new Problem('internal', 'INTERNAL', 'an unexpected error occurred; it has been logged'));
    sendProblem(res, e);
  };
}
