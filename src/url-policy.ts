import { BooktapeError, type FailureKind } from './errors.js';
import { isDatabentoSource, parseDatabentoSource } from './databento-request.js';

/**
 * Which URLs booktape fetches: shared by the pipeline (before it fetches) and
 * by whatever takes a source from a user (the API, the CLI, the settings), so
 * a refused URL is refused at once rather than as a failed job.
 */

export type SourceErrorCode =
  | 'SOURCE_NOT_ALLOWED'
  | 'SOURCE_NOT_FOUND'
  | 'SOURCE_TOO_LARGE'
  | 'SOURCE_HTTP_ERROR'
  | 'SOURCE_TIMEOUT'
  | 'TOO_MANY_REDIRECTS';

/** A remote source that fails now may answer later; anything else about a source needs the user. */
const SOURCE_KINDS: Record<SourceErrorCode, FailureKind> = {
  SOURCE_NOT_ALLOWED: 'invalid',
  SOURCE_NOT_FOUND: 'not-found',
  SOURCE_TOO_LARGE: 'invalid',
  SOURCE_HTTP_ERROR: 'unavailable',
  SOURCE_TIMEOUT: 'unavailable',
  TOO_MANY_REDIRECTS: 'invalid',
};

export class SourceError extends BooktapeError {
  declare readonly code: SourceErrorCode;
  constructor(code: SourceErrorCode, message: string) {
    super(code, SOURCE_KINDS[code], message);
  }
}

export interface UrlPolicy {
  /** Hosts (host or host:port) URLs may name; none = URLs refused. */
  allowHosts: string[];
}

/**
 * A source that starts with a scheme (`name:`) is a URL, whatever the
 * scheme: only http(s) ones are fetched, and the rest are refused rather
 * than taken for file names (`file:`, `ftp:`). One letter before the colon
 * is a drive, not a scheme.
 */
export const isUrl = (spec: string): boolean => /^[a-z][a-z0-9+.-]+:/i.test(spec);

/**
 * Refuses a URL source the workers would refuse (scheme, host allow-list),
 * so that enqueueing it fails at once instead of queueing a job that fails.
 * Local paths pass: only a worker can resolve them, on its own filesystem.
 * A Databento request (`databento:...`) goes to the Databento API's own base
 * (BOOKTAPE_DATABENTO_URL), not subject to the allow-list: it passes when it
 * is a valid request (else BAD_DATABENTO_REQUEST).
 */
export function refuseDisallowedUrl(spec: string, policy: UrlPolicy): void {
  if (isDatabentoSource(spec)) parseDatabentoSource(spec);
  else if (isUrl(spec)) checkHost(parseUrl(spec), policy);
}

export function parseUrl(spec: string): URL {
  try {
    return new URL(spec);
  } catch {
    throw new SourceError('SOURCE_NOT_ALLOWED', `${spec} is not a valid URL`);
  }
}

export function checkHost(url: URL, policy: UrlPolicy): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SourceError('SOURCE_NOT_ALLOWED', `only http and https URLs are fetched, not ${url.protocol}`);
  }
  // URL lower-cases host names; a setting may not have.
  const allowed = policy.allowHosts.map((h) => h.toLowerCase());
  if (!allowed.includes(url.host) && !allowed.includes(url.hostname)) {
    throw new SourceError(
      'SOURCE_NOT_ALLOWED',
      `host ${url.host} is not allowed; add it to BOOKTAPE_URL_ALLOW_HOSTS (now: ${policy.allowHosts.join(', ') || 'empty'})`,
    );
  }
}

