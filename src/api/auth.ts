import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Problem } from './problem.js';

export type Access = 'read' | 'write';

function tokenMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Bearer token, or HTTP Basic with the token as password (what a browser can send, for Bull Board). */
function presentedToken(req: Request): string | undefined {
  const h = req.headers.authorization ?? '';
  if (h.startsWith('Bearer ')) return h.slice(7);
  if (h.startsWith('Basic ')) return Buffer.from(h.slice(6), 'base64').toString('utf8').split(':').slice(1).join(':');
  return undefined;
}

/**
 * The token check for `access`. Without a configured read token reads are
 * open; without a write token writes are refused (403) rather than open.
 */
export function requireToken(access: Access, token: string | undefined): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (token === undefined) {
      if (access === 'read') return next();
      return next(new Problem('forbidden', 'WRITES_DISABLED', 'this server has no BOOKTAPE_WRITE_TOKEN: set one to allow ingest requests and Bull Board'));
    }
    if (tokenMatches(presentedToken(req), token)) return next();
    // Basic for the write token, so that a browser asks for it on Bull Board;
    // Bearer for reads, so that the book page's fetches get the 401 to show
    // its own token form instead of the browser's login prompt.
    res.setHeader('WWW-Authenticate', access === 'write' ? 'Basic realm="booktape", charset="UTF-8"' : 'Bearer realm="booktape"');
    next(new Problem('unauthorized', 'UNAUTHORIZED', `send the ${access} token as "Authorization: Bearer <token>"`));
  };
}

/** The checks every route group takes: one per access level. */
export interface Guards {
  read: RequestHandler;
  write: RequestHandler;
}

export function guards(tokens: { readToken: string | undefined; writeToken: string | undefined }): Guards {
  return { read: requireToken('read', tokens.readToken), write: requireToken('write', tokens.writeToken) };
}
