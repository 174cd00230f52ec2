import { BooktapeError, toBooktapeError, type FailureKind, type SerializedError } from '../errors.js';
import { isDbnError } from '../dbn/errors.js';

/**
 * Why an ingest failed: the code and kind of the underlying failure
 * (DbnError, SourceError, StoreError, ...), and the byte offset for a bad
 * file, so that all of it survives a thread boundary and a job queue. Whether
 * a job is retried follows from the kind (FAILURE_KINDS).
 */
export class IngestError extends BooktapeError {
  constructor(code: string, kind: FailureKind, message: string, readonly offset?: number) {
    super(code, kind, message);
  }

  /** Errors nothing will fix by retrying: bad files, refused sources. */
  get permanent(): boolean {
    return !this.traits.retryable;
  }

  override toJSON(): SerializedError & { offset?: number } {
    return { ...super.toJSON(), ...(this.offset !== undefined ? { offset: this.offset } : {}) };
  }

  static fromJSON(e: SerializedError & { offset?: number }): IngestError {
    return new IngestError(e.code, e.kind, e.message, e.offset);
  }
}

export function toIngestError(err: unknown): IngestError {
  if (err instanceof IngestError) return err;
  if (isDbnError(err)) return new IngestError(err.code, err.kind, err.message, err.offset);
  const e = toBooktapeError(err);
  return new IngestError(e.code, e.kind, e.message);
}
