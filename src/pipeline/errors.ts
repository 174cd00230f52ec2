import { BooktapeError, toBooktapeError, type FailureKind, type SerializedError } from '../errors.js';
import { isDbnError } from '../dbn/errors.js';
import { DatabentoError } from '../databento/errors.js';

/**
 * Why an ingest failed: the code and kind of the underlying failure
 * (DbnError, SourceError, StoreError, ...), and the byte offset for a bad
 * file, so that all of it survives a thread boundary and a job queue. Whether
 * a job is retried follows from the kind (FAILURE_KINDS).
 */
export class IngestError extends BooktapeError {
  constructor(
    code: string,
    kind: FailureKind,
    message: string,
    readonly offset?: number,
    /** The wait a remote service asked for before a retry (Retry-After), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(code, kind, message);
  }

  /** Errors nothing will fix by retrying: bad files, refused sources. */
  get permanent(): boolean {
    return !this.traits.retryable;
  }

  override toJSON(): SerializedIngestError {
    return {
      ...super.toJSON(),
      ...(this.offset !== undefined ? { offset: this.offset } : {}),
      ...(this.retryAfterMs !== undefined ? { retryAfterMs: this.retryAfterMs } : {}),
    };
  }

  static fromJSON(e: SerializedIngestError): IngestError {
    return new IngestError(e.code, e.kind, e.message, e.offset, e.retryAfterMs);
  }
}

export type SerializedIngestError = SerializedError & { offset?: number; retryAfterMs?: number };

export function toIngestError(err: unknown): IngestError {
  if (err instanceof IngestError) return err;
  if (isDbnError(err)) return new IngestError(err.code, err.kind, err.message, err.offset);
  if (err instanceof DatabentoError) return new IngestError(err.code, err.kind, err.message, undefined, err.retryAfterMs);
  const e = toBooktapeError(err);
  return new IngestError(e.code, e.kind, e.message);
}
