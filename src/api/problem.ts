import type { NextFunction, Request, Response } from 'express';
import { ZodError } from 'zod';
import { isStoreFailure } from '../store/port.js';

/**
 * An API error as RFC 9457 problem+json: a stable `code`, a `detail` a user
 * can act on, and the offending `field` for validation errors.
 */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly field?: string,
  ) {
    super(detail);
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable', 500: 'Internal Server Error',
};

export function sendProblem(res: Response, p: Problem): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(p.status).type('application/problem+json').send(JSON.stringify({
    type: `https://booktape.dev/problems/${p.code.toLowerCase().replace(/_/g, '-')}`,
    title: TITLES[p.status] ?? 'Error',
    status: p.status,
    code: p.code,
    detail: p.detail,
    ...(p.field ? { field: p.field } : {}),
  }));
}

export function fromZod(err: ZodError): Problem {
  const issue = err.issues[0];
  const field = issue.path.join('.') || undefined;
  return new Problem(400, 'INVALID_PARAMETER', field ? `${field}: ${issue.message}` : issue.message, field);
}

/** The last middleware: every error leaves as problem+json, never as a stack trace. */
export function problemHandler(log: (err: unknown) => void) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    if (err instanceof Problem) return sendProblem(res, err);
    if (err instanceof ZodError) return sendProblem(res, fromZod(err));
    if ((err as { type?: unknown } | null)?.type === 'entity.parse.failed') return sendProblem(res, new Problem(400, 'INVALID_JSON', 'the request body is not valid JSON'));
    // The store's failures are not the request's fault.
    if (isStoreFailure(err)) return sendProblem(res, new Problem(503, err.code, String(err.message)));
    log(err);
    sendProblem(res, new Problem(500, 'INTERNAL', 'an unexpected error occurred; it has been logged'));
  };
}
