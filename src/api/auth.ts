import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Problem } from './problem.js';
import { tokenMatches } from '../tokens.js';

export type Access = 'read' | 'write';

/**
 * Bearer token, or HTTP Basic with the token as password (what a browser can
 * send, for Bull Board). Scheme names are case-insensitive (RFC 9110 11.1).
 */
function presentedToken(req: Request): string | undefined {
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) +(\S+)$/.exec(req.headers.authorization ?? '');
  if (m === null) return undefined;
  const scheme = m[1].toLowerCase();
  if (scheme === 'bearer') return m[2];
  if (scheme === 'basic') {
    const pair = Buffer.from(m[2], 'base64').toString('utf8');
    const colon = pair.indexOf(':');
    return colon === -1 ? undefined : pair.slice(colon + 1);
  }
  return undefined;
}

/**
 * What a 401 asks for, and what its body says to send: the two agree. Writes
 * take Bearer (curl, scripts) or Basic with the token as the password, which
 * is what a browser sends for Bull Board once challenged with Basic. Reads
 * challenge Bearer only, so the book page's fetches get the 401 and show its
 * own token form, not the browser's login prompt.
 */
const CHALLENGES: Record<Access, string[]> = {
  write: ['Basic realm="booktape", charset="UTF-8"', 'Bearer realm="booktape"'],
  read: ['Bearer realm="booktape"'],
};
const HOW_TO_SEND: Record<Access, string> = {
  write: 'send the write token as "Authorization: Bearer <token>" (curl -H \'Authorization: Bearer <token>\'), or as the password of HTTP Basic, any user name (a browser asks for it)',
  read: 'send the read token as "Authorization: Bearer <token>" (curl -H \'Authorization: Bearer <token>\')',
};

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
    res.setHeader('WWW-Authenticate', CHALLENGES[access]);
    next(new Problem('unauthorized', 'UNAUTHORIZED', HOW_TO_SEND[access]));
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
