// src/databento/: Databento's historical HTTP API: its endpoints, its answers as typed errors, the API key kept out of sight.
import { BooktapeError, type FailureKind } from '../errors.js';

/**
 * What Databento (or the way to it) answered, as booktape's error model has
 * it. The kind says whether a job is retried (FAILURE_KINDS): a request the
 * service refused or cannot serve fails for good, with the service's own
 * message; a rate limit or an outage is retried, no sooner than the
 * service's Retry-After.
 */
export type DatabentoErrorCode =
  /** DATABENTO_API_KEY is not set. */
  | 'DATABENTO_NO_KEY'
  /** 401, 402, 403: the key is wrong, or may not do this. */
  | 'DATABENTO_AUTH_REFUSED'
  /** 400, 409, 422 and other 4xx: the request is wrong (a symbol that does not resolve, a range outside the dataset). */
  | 'DATABENTO_BAD_REQUEST'
  /** 404: a resource or symbol that does not exist. */
  | 'DATABENTO_NOT_FOUND'
  /** The request is valid and holds no data (billable size 0: a holiday, a symbol that did not trade). */
  | 'DATABENTO_NO_DATA'
  /** 429. */
  | 'DATABENTO_RATE_LIMITED'
  /** 5xx, 408, a connection refused or reset, no answer in time. */
  | 'DATABENTO_UNAVAILABLE'
  /** The cost guard: the request would cost more than BOOKTAPE_DATABENTO_MAX_COST_USD. */
  | 'DATABENTO_COST_LIMIT';

export class DatabentoError extends BooktapeError {
  declare readonly code: DatabentoErrorCode;
  constructor(
    code: DatabentoErrorCode,
    kind: FailureKind,
    message: string,
    /** The HTTP status Databento answered, when it answered. */
    readonly status?: number,
    /** How long the service asked us to wait (Retry-After), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(code, kind, message);
  }
}

/** Code and kind of an HTTP status that is not a success (Databento's documented codes; anything else by its class). */
export function statusFailure(status: number): { code: DatabentoErrorCode; kind: FailureKind } {
  if (status === 401) return { code: 'DATABENTO_AUTH_REFUSED', kind: 'unauthorized' };
  if (status === 402 || status === 403) return { code: 'DATABENTO_AUTH_REFUSED', kind: 'forbidden' };
  if (status === 404) return { code: 'DATABENTO_NOT_FOUND', kind: 'not-found' };
  if (status === 429) return { code: 'DATABENTO_RATE_LIMITED', kind: 'unavailable' };
  if (status === 408 || status >= 500) return { code: 'DATABENTO_UNAVAILABLE', kind: 'unavailable' };
  if (status >= 400) return { code: 'DATABENTO_BAD_REQUEST', kind: 'invalid' };
  // A redirect or another non-success: not followed (the key goes to Databento only); it may pass.
  return { code: 'DATABENTO_UNAVAILABLE', kind: 'unavailable' };
}

/** The longest wait a Retry-After may ask for before booktape retries anyway: a day. */
const MAX_RETRY_AFTER_MS = 86_400_000;

/** Retry-After as ms: delay-seconds or an HTTP-date (RFC 9110); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const t = header.trim();
  const ms = /^\d+$/.test(t) ? Number(t) * 1000 : Date.parse(t) - now;
  return Number.isFinite(ms) ? Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.round(ms))) : undefined;
}

/**
 * The service's own message from an error body: `{"detail": "..."}`,
 * `{"detail": {"case": ..., "message": ..., "docs": ...}}`, or a list of
 * field errors (`{"detail": [{"loc": [...], "msg": ...}]}`); else the text
 * itself, cut short.
 */
export function serviceMessage(body: string): string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return body.trim().slice(0, 300);
  }
  const detail = (json as { detail?: unknown } | null)?.detail;
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) {
    return detail.map((d: { loc?: unknown[]; msg?: unknown }) => `${Array.isArray(d?.loc) ? `${d.loc.join('.')}: ` : ''}${String(d?.msg ?? JSON.stringify(d))}`).join('; ');
  }
  if (detail !== null && typeof detail === 'object') {
    const d = detail as { case?: unknown; message?: unknown; docs?: unknown };
    const parts = [typeof d.case === 'string' ? d.case : null, typeof d.message === 'string' ? d.message : null].filter((x) => x !== null);
    if (parts.length > 0) return parts.join(': ') + (typeof d.docs === 'string' && d.docs ? ` (see ${d.docs})` : '');
  }
  return JSON.stringify(json).slice(0, 300);
}

/** `text` with every occurrence of `secret` replaced: no key reaches a message, a log or a job. */
export function redact(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join('[redacted]') : text;
}
