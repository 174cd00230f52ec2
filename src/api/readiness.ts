import type { SnapshotStore } from '../store/port.js';

/**
 * Readiness of a process that serves reads or runs jobs: "ok" or the reason,
 * for the store and for the job queue (null: no Redis was reachable at start).
 */
export async function readinessChecks(store: Pick<SnapshotStore, 'ping'>, jobs: { probe(): Promise<void> } | null): Promise<Record<string, string>> {
  const checks: Record<string, string> = {};
  try { await store.ping(); checks.store = 'ok'; } catch (e) { checks.store = (e as Error).message; }
  try {
    if (jobs === null) throw new Error('not connected');
    await jobs.probe(); // a real round trip to Redis, bounded in time
    checks.redis = 'ok';
  } catch (e) { checks.redis = (e as Error).message; }
  return checks;
}

export const isReady = (checks: Record<string, string>): boolean => Object.values(checks).every((v) => v === 'ok');
