import type { Response } from 'express';
import type { RangeQuery, SnapshotStore } from '../store/port.js';
import type { ActiveReads } from '../stream/active-reads.js';
import { openDbnReplay, streamDbnReplay } from '../stream/dbn-replay.js';
import type { ReplaySchema } from '../stream/dbn.js';
import type { ReplayMetrics } from '../stream/metrics.js';
import type { Pace } from '../stream/pacing.js';
import { TOO_MANY_STREAMS, tooManyStreamsDetail, type StreamSlots } from '../stream/stream-slots.js';
import { Problem } from './problem.js';

/** What the streaming routes (replay, exports) share. */
export interface StreamDeps {
  store: SnapshotStore;
  reads: ActiveReads;
  /** BOOKTAPE_MAX_STREAMS, shared with the TCP port. */
  slots: StreamSlots;
}

/** A stream slot's release, or 503 TOO_MANY_STREAMS when all are taken. */
export function takeStreamSlot(slots: StreamSlots): () => void {
  const release = slots.take();
  if (release === null) throw new Problem('unavailable', TOO_MANY_STREAMS, tooManyStreamsDetail(slots.max));
  return release;
}

export const DBN_MEDIA_TYPE = 'application/octet-stream';
/** The records a whole DBN response carries, as its metadata's `limit` says too. */
export const RECORDS_HEADER = 'X-Booktape-Records';

/**
 * A range as a DBN stream (stream/dbn-replay.ts). A stream cut part-way (the
 * client left, a shutdown, the store failed) is not ended: the connection
 * closes without the last chunk, so an HTTP client sees an error as well as
 * fewer records than announced.
 */
export async function sendDbn(
  deps: StreamDeps & { metrics?: ReplayMetrics; onFailure: (err: unknown, records: number) => void },
  res: Response, controller: AbortController, range: RangeQuery, schema: ReplaySchema, pace: Pace,
): Promise<void> {
  const replay = await openDbnReplay(deps.store, range, schema);
  res.status(200).type(DBN_MEDIA_TYPE);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Accel-Buffering', 'no');
  res.setHeader(RECORDS_HEADER, String(replay.records));
  const counts = await deps.reads.run(controller, (signal) => streamDbnReplay(deps.store, replay, pace, res, signal, (records, bytes) => {
    deps.metrics?.replayFrames.inc({ transport: 'http' }, records);
    deps.metrics?.replayBytes.inc({ transport: 'http' }, bytes);
  }));
  if (counts.failure !== undefined) deps.onFailure(counts.failure, counts.frames);
  if (counts.failure !== undefined || controller.signal.aborted) res.destroy();
  else res.end();
}
