import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { Problem, bodyTooLarge } from './problem.js';

/** The largest request body taken: an ingest request is a small JSON object. */
export const MAX_BODY_BYTES = 16 * 1024;

/**
 * A route's JSON body, read only here: mount it after the route's token
 * check, so an unauthenticated client is answered before a byte of its body
 * is read or decoded. A body that is not JSON, or says it is longer than
 * the limit, is refused before reading it; what body-parser finds while
 * reading (bad charset, encoding, JSON) is mapped in problem.ts.
 */
export function jsonBody(): RequestHandler[] {
  const refuse = (req: Request, res: Response, next: NextFunction) => {
    const json = req.is('application/json');
    if (!json) {
      // null: no body at all; false: a body of another type.
      const got = json === null ? 'no body' : `Content-Type ${JSON.stringify(String(req.headers['content-type'] ?? 'none').slice(0, 100))}`;
      return next(new Problem('unsupported-media', 'JSON_REQUIRED', `send the body as JSON with "Content-Type: application/json" (got ${got})`));
    }
    const length = Number(req.headers['content-length']);
    if (Number.isFinite(length) && length > MAX_BODY_BYTES) {
      // The body is not read: close the connection rather than read it to keep it.
      res.setHeader('Connection', 'close');
      return next(bodyTooLarge(MAX_BODY_BYTES));
    }
    next();
  };
  return [refuse, express.json({ limit: MAX_BODY_BYTES, type: 'application/json' })];
}
