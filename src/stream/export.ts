import { FLUSH_BYTES } from '../encode/bytes.js';
import type { Writable } from 'node:stream';
import type { SnapshotStore } from '../store/port.js';
import { FrameWriter, csvHeader } from '../encode/frames.js';
import type { ExportRequest } from './requests.js';

/** The media type of each export format. */
export const EXPORT_MEDIA_TYPES = { json: 'application/json', ndjson: 'application/x-ndjson', csv: 'text/csv' } as const;

/**
 * Writes a symbol's snapshots in `req`'s range into `out` as a JSON array,
 * NDJSON or CSV, reading the store page by page. Resolves true when the
 * whole range was written; false when `signal` cut it short (the client
 * left, or a shutdown). The closing bytes are left to the caller, in `tail`,
 * so that a cut export is never ended as if it were whole.
 */
export async function streamExport(
  store: SnapshotStore,
  symbol: string,
  req: ExportRequest,
  out: Writable,
  signal: AbortSignal,
): Promise<{ complete: boolean; tail: Uint8Array }> {
  const writer = new FrameWriter();
  if (req.format === 'csv') writer.text(csvHeader(req.depth) + '\n');
  if (req.format === 'json') writer.text('[');
  let first = true;
  for await (const batch of store.readRange({ symbols: [symbol], from: req.from, to: req.to, after: req.after, limit: req.limit }, signal)) {
    for (const s of batch) {
      if (req.format === 'csv') writer.csvRow(s, req.depth);
      else {
        if (req.format === 'json' && !first) writer.text(',');
        writer.frame(s, req.depth, req.format === 'ndjson');
      }
      first = false;
      if (writer.length >= FLUSH_BYTES) await writer.flushTo(out, signal);
      if (signal.aborted) return { complete: false, tail: new Uint8Array(0) };
    }
  }
  if (signal.aborted) return { complete: false, tail: new Uint8Array(0) };
  if (req.format === 'json') writer.text(']');
  return { complete: true, tail: writer.take() };
}
