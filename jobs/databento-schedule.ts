import type { Queue } from 'bullmq';
import type { Config, DatabentoConfig } from '../src/config.js';
import { databentoSource, dayRequest, parseRequestTime, utcDayOf, utcDays, type DatabentoRequest } from '../src/databento-request.js';
import { HistoricalClient } from '../src/databento/client.js';
import type { IngestResultJson } from '../src/pipeline/summary-json.js';
import type { SnapshotStore } from '../src/store/port.js';
import { enqueueIngest, type IngestJobData } from './queue.js';
import { retryableFailure } from './scan.js';

/**
 * The Databento schedule: on its cron (a BullMQ job scheduler on the scan
 * queue), it queues one ingest job per whole UTC day of the date rule (the
 * last BOOKTAPE_DATABENTO_DAYS days), skipping days already ingested and days
 * the dataset does not yet hold. Each day is its own job, retried with
 * backoff and shown in Bull Board and /v1/jobs like any other.
 */

const NS_PER_DAY = 86_400_000_000_000n;

/** The last `n` whole UTC days before `now`'s day, oldest first (n = 1: yesterday). */
export function scheduledDays(n: number, now: Date): string[] {
  const today = BigInt(now.getTime()) * 1_000_000n;
  return utcDays(utcDayOf(today - BigInt(n) * NS_PER_DAY), utcDayOf(today - NS_PER_DAY));
}

export interface DaysQueued {
  /** Days a job was queued for (or a failed one retried). */
  queued: string[];
  /** Days already ingested, or with a job waiting, running or done. */
  skipped: string[];
  /** Days past the end of what the dataset holds now: queued by a later run. */
  notYetAvailable: string[];
}

/**
 * Queues a job per day of `base`, once: a day whose source the store has
 * ingested is skipped (no job, nothing bought); a day whose job failed for a
 * passing reason is retried after its backoff; one that failed for good
 * (a refused request) is left failed.
 */
export async function queueDays(
  days: string[],
  base: Pick<DatabentoRequest, 'dataset' | 'symbols' | 'stype_in'>,
  deps: { store: SnapshotStore | null; queue: Queue<IngestJobData, IngestResultJson>; backoffMs: number; force?: boolean },
): Promise<DaysQueued & { jobs: Array<{ day: string; id: string; existing: boolean }> }> {
  const out = { queued: [] as string[], skipped: [] as string[], notYetAvailable: [] as string[], jobs: [] as Array<{ day: string; id: string; existing: boolean }> };
  for (const day of days) {
    const source = databentoSource(dayRequest(base, day));
    if (!deps.force && deps.store !== null && (await deps.store.hasIngested(source))) {
      out.skipped.push(day);
      continue;
    }
    const { job, existing } = await enqueueIngest(deps.queue, { source }, { force: deps.force, retryFailed: (j) => retryableFailure(j, deps.backoffMs) });
    out.jobs.push({ day, id: String(job.id), existing });
    (existing ? out.skipped : out.queued).push(day);
  }
  return out;
}

/**
 * Days whose end is past the end of the dataset's available range (for MBO,
 * where the service gives it per schema): their data is not all there yet.
 */
export async function availableDays(days: string[], dataset: string, config: Pick<DatabentoConfig, 'baseUrl' | 'apiKey'>, timeoutMs: number): Promise<{ available: string[]; notYet: string[] }> {
  const range = await new HistoricalClient({ baseUrl: config.baseUrl, apiKey: config.apiKey, timeoutMs }).getDatasetRange(dataset);
  const end = parseRequestTime(range.schema?.mbo?.end ?? range.end);
  const available: string[] = [];
  const notYet: string[] = [];
  for (const day of days) {
    const dayEnd = parseRequestTime(day)! + NS_PER_DAY;
    (end === null || dayEnd <= end ? available : notYet).push(day);
  }
  return { available, notYet };
}

/** One run of the schedule: the date rule's days, those available, queued once each. */
export async function runDatabentoSchedule(
  config: Pick<Config, 'databento' | 'jobBackoffMs' | 'url'>,
  store: SnapshotStore,
  queue: Queue<IngestJobData, IngestResultJson>,
  now = new Date(),
): Promise<DaysQueued> {
  const base = config.databento.request;
  if (base === null) return { queued: [], skipped: [], notYetAvailable: [] };
  const days = scheduledDays(config.databento.days, now);
  const { available, notYet } = await availableDays(days, base.dataset, config.databento, config.url.timeoutMs);
  const { queued, skipped } = await queueDays(available, base, { store, queue, backoffMs: config.jobBackoffMs });
  return { queued, skipped, notYetAvailable: notYet };
}
