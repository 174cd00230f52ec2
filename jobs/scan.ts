import { mkdir, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Queue } from 'bullmq';
import type { Config } from '../src/config.js';
import type { IngestResultJson } from '../src/pipeline/summary-json.js';
import type { SnapshotStore } from '../src/store/port.js';
import { fileSha256 } from '../src/pipeline/source.js';
import { enqueueIngest, type IngestJob, type IngestJobData } from './queue.js';

const DBN_FILE = /\.dbn(\.zst)?$/i;
/** path -> [size, mtime, sha256]: a file is hashed again only when it changes. */
const hashes = new Map<string, [number, number, string]>();

async function sha256Of(path: string): Promise<string> {
  const s = await stat(path);
  const known = hashes.get(path);
  if (known && known[0] === s.size && known[1] === s.mtimeMs) return known[2];
  const digest = await fileSha256(path);
  hashes.set(path, [s.size, s.mtimeMs, digest]);
  return digest;
}

/**
 * Whether the scanner queues a failed job again: when what failed it may
 * pass (a store or Redis outage, a crashed worker), and only once a pause as
 * long as the job's own backoff has gone by since, so a file that keeps
 * failing is retried ever more slowly rather than in a loop. A bad file
 * (a permanent code) is left failed.
 */
export function retryableFailure(job: IngestJob, backoffMs: number, now = Date.now()): boolean {
  // The worker fails a job for good with UnrecoverableError when its failure's kind is not retryable
  // (FAILURE_KINDS); the one exception is a job whose runs were all cut short by dying workers.
  const stalled = /^\[JOB_STALLED\]|allowable limit/.test(job.failedReason ?? '');
  const permanent = (job.stacktrace ?? []).some((s) => s.startsWith('UnrecoverableError'));
  if (permanent && !stalled) return false;
  const wait = backoffMs * 2 ** Math.min(Math.max(job.attemptsMade, 1), 16);
  return (job.finishedOn ?? 0) + wait <= now;
}

/**
 * Queues inbox files (and configured URLs) not ingested yet. A file whose
 * content already succeeded is skipped; job ids carry the content hash, so a
 * file is queued once however many scans see it.
 */
export async function scanInbox(
  config: Pick<Config, 'inbox' | 'scanUrls' | 'jobBackoffMs'>,
  store: SnapshotStore,
  queue: Queue<IngestJobData, IngestResultJson>,
): Promise<{ queued: string[]; skipped: number }> {
  const inbox = resolve(config.inbox);
  await mkdir(inbox, { recursive: true });
  const queued: string[] = [];
  let skipped = 0;
  for (const name of (await readdir(inbox)).sort()) {
    if (!DBN_FILE.test(name)) continue;
    const path = join(inbox, name);
    const sha256 = await sha256Of(path);
    if (await store.hasSucceeded(sha256)) { skipped++; continue; }
    const { existing } = await enqueueIngest(queue, { source: path, sha256 }, { retryFailed: (job) => retryableFailure(job, config.jobBackoffMs) });
    if (existing) skipped++;
    else queued.push(path);
  }
  for (const url of config.scanUrls) {
    const { existing } = await enqueueIngest(queue, { source: url }, { retryFailed: (job) => retryableFailure(job, config.jobBackoffMs) });
    if (existing) skipped++;
    else queued.push(url);
  }
  return { queued, skipped };
}
