import { isDbnError } from '../dbn/errors.js';
import { SourceError } from './source.js';
import { StoreError, isStoreFailure } from '../store/port.js';

/**
 * Failures of the moment besides the store's (the network, the engine
 * thread, a worker that stopped or lost its job): a retry may succeed.
 */
const RETRYABLE = new Set(['SOURCE_TIMEOUT', 'SOURCE_HTTP_ERROR', 'ENGINE_CRASHED', 'INTERNAL', 'JOB_STALLED', 'LOCK_LOST', 'SHUTDOWN', 'JOBS_UNAVAILABLE']);

/**
 * Why an ingest failed, with the code of the underlying typed error (DbnError,
 * SourceError, StoreError, ...) so it survives a thread boundary and a job queue.
 */
export class IngestError extends Error {
  constructor(readonly code: string, message: string, readonly offset?: number) {
    super(message);
  }

  /** Errors nothing will fix by retrying: bad files, refused sources. Every store failure may pass. */
  get permanent(): boolean {
    return !(isStoreFailure(this) || RETRYABLE.has(this.code));
  }

  toJSON(): { code: string; message: string; offset?: number } {
    return { code: this.code, message: this.message, ...(this.offset !== undefined ? { offset: this.offset } : {}) };
  }
}

export function toIngestError(err: unknown): IngestError {
  if (err instanceof IngestError) return err;
  if (isDbnError(err)) return new IngestError(err.code, err.message, err.offset);
  if (err instanceof SourceError || err instanceof StoreError) return new IngestError(err.code, err.message);
  const e = err as { code?: unknown; message?: unknown };
  return new IngestError(typeof e?.code === 'string' ? e.code : 'INTERNAL', String(e?.message ?? err));
}
