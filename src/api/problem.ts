import type { NextFunction, Request, Response } from 'express';
import { ZodError } from 'zod';
import { isStoreFailure } from '../store/port.js';
import { ScopeError } from '../stream/symbols.js';

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
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 413: 'Content Too Large',
  415: 'Unsupported Media Type', 503: 'Service Unavailable', 500: 'Internal Server Error',
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

export const bodyTooLarge = (limitBytes: number) => new Problem(413, 'BODY_TOO_LARGE', `the request body is over its limit of ${limitBytes} bytes`);

/**
 * What the request itself got wrong before a route saw it, as Express's
 * router and body-parser report it (http-errors with a 4xx status): a
 * malformed %-escape in the path, a body that cannot be read as sent.
 */
function fromTransport(err: unknown): Problem | null {
  const e = err as { status?: unknown; type?: unknown; charset?: unknown; encoding?: unknown; limit?: unknown } | null;
  if (e === null || typeof e !== 'object' || typeof e.status !== 'number' || e.status < 400 || e.status >= 500) return null;
  if (err instanceof URIError) return new Problem(400, 'INVALID_PATH', 'the path has a malformed %-escape: escape each byte of UTF-8 as %XX');
  switch (e.type) {
    case 'entity.parse.failed': return new Problem(400, 'INVALID_JSON', 'the request body is not valid JSON');
    case 'entity.too.large': return bodyTooLarge(Number(e.limit));
    case 'charset.unsupported': return new Problem(415, 'UNSUPPORTED_MEDIA_TYPE', `charset ${String(e.charset ?? '')} is not supported: send the body as UTF-8 JSON`);
    case 'encoding.unsupported': return new Problem(415, 'UNSUPPORTED_MEDIA_TYPE', `content-encoding ${String(e.encoding ?? '')} is not supported: send identity, gzip, deflate or br`);
    default: return new Problem(400, 'INVALID_BODY', 'the request body cannot be read as its headers describe it (content-encoding, length)');
  }
}

/** The last middleware: every error leaves as problem+json, never as a stack trace. */
export function problemHandler(log: (err: unknown) => void) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    if (err instanceof Problem) return sendProblem(res, err);
    if (err instanceof ZodError) return sendProblem(res, fromZod(err));
    if (err instanceof ScopeError) return sendProblem(res, new Problem(err.notFound ? 404 : 400, err.code, err.message, err.field));
    const transport = fromTransport(err);
    if (transport !== null) return sendProblem(res, transport);
    // The store's failures are not the request's fault.
    if (isStoreFailure(err)) return sendProblem(res, new Problem(503, err.code, String(err.message)));
    log(err);
    sendProblem(res, new Problem(500, 'INTERNAL', 'an unexpected error occurred; it has been logged'));
  };
}
