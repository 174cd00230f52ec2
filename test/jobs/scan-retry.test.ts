import { describe, expect, it } from 'vitest';
import { retryableFailure } from '../../jobs/scan.js';
import type { IngestJob } from '../../jobs/queue.js';

/** The fields of a failed BullMQ job the scanner reads, as BullMQ stores them. */
const failed = (failedReason: string, errorName: string, attemptsMade: number, finishedOn: number) =>
  ({ failedReason, stacktrace: [`${errorName}: ${failedReason}\n    at processor`], attemptsMade, finishedOn }) as unknown as IngestJob;

describe('the inbox scanner and failed jobs', () => {
  const now = 1_000_000;
  it('queues again a job failed by an outage or by stalls, once its backoff has passed; never a bad file', () => {
    const store = failed('[STORE_WRITE_FAILED] DuckDB write failed', 'Error', 3, now - 10_000);
    expect(retryableFailure(store, 500, now)).toBe(true); // 500 ms * 2^3 = 4 s ago at least
    expect(retryableFailure(store, 5_000, now)).toBe(false); // 40 s not yet gone by
    expect(retryableFailure(failed('[JOB_STALLED] the job ran 3 times', 'UnrecoverableError', 1, now - 60_000), 500, now)).toBe(true);
    expect(retryableFailure(failed('job stalled more than allowable limit', 'UnrecoverableError', 0, now - 60_000), 500, now)).toBe(true);
    expect(retryableFailure(failed('[NOT_MBO] This is a trades file', 'UnrecoverableError', 1, now - 3_600_000), 500, now)).toBe(false);
  });
});
