import type { SnapshotStore } from '../store/port.js';
import { BooktapeError } from '../errors.js';

/** How long a readiness check waits on the store's write probe (it waits behind the writes queued before it). */
export const STORE_PROBE_MS = 5_000;

/** `work`, or a rejection saying what did not answer within `ms`. */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BooktapeError('STORE_UNAVAILABLE', 'unavailable', `${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a store write lands now (its write probe, bounded in time); a store without one counts when it answers ping(). */
export async function probeStoreWrite(store: Pick<SnapshotStore, 'ping' | 'probeWrite'>): Promise<void> {
  if (store.probeWrite === undefined) await store.ping();
  else await within(store.probeWrite(), STORE_PROBE_MS, 'the store write probe');
}

/**
 * Readiness of a process that serves reads or runs jobs: "ok" or the reason,
 * for the store and for the job queue (null: this process runs no jobs). A
 * worker (`write`) is ready only if a store write lands now, not merely if
 * the store answers.
 */
export async function readinessChecks(
  store: Pick<SnapshotStore, 'ping' | 'probeWrite'>,
  jobs: { probe(): Promise<void> } | null,
  opts: { write?: boolean } = {},
): Promise<Record<string, string>> {
  const checks: Record<string, string> = {};
  try {
    if (opts.write) await probeStoreWrite(store);
    else await store.ping();
    checks.store = 'ok';
  } catch (e) { checks.store = (e as Error).message; }
  try {
    if (jobs === null) throw new Error('not connected');
    await jobs.probe(); // a real round trip to Redis, bounded in time
    checks.redis = 'ok';
  } catch (e) { checks.redis = (e as Error).message; }
  return checks;
}

export const isReady = (checks: Record<string, string>): boolean => Object.values(checks).every((v) => v === 'ok');
