// src/cli/: the CLI commands behind src/cli.ts; services.ts is the composition root that wires processes.
import { FLUSH_BYTES } from '../encode/bytes.js';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { SCHEMA_NAMES, mbpRecordLength } from '../dbn/constants.js';
import { encodeMetadata } from '../dbn/encode.js';
import type { DbnStream } from '../dbn/reader.js';
import { bookOrdersToJson, bookToJson, type BookJson, type BookOrdersJson } from '../encode/book-json.js';
import { ORDERS_CSV_HEADER, ordersCsv, ordersText } from '../encode/book-orders.js';
import { MbpTextWriter, mbpCsvHeader, writeMbpRecord } from '../encode/mbp.js';
import { rebuild } from '../book/rebuild.js';
import type { SnapshotBuffer } from '../book/snapshot-buffer.js';
import { formatInstant } from '../time.js';

export interface BookCommandOutput<B extends BookJson | BookOrdersJson = BookJson> {
  dataset: string;
  at: string | null;
  books: B[];
}

interface RebuildBooksOptions { depth: number; at?: bigint; verify?: boolean; onProgress?: (records: number) => void }

/** The books of a file, at its end or at `at`, in (instrument, publisher) order, as `toJson` writes each. */
async function rebuiltBooks<B extends BookJson | BookOrdersJson>(
  stream: DbnStream, opts: RebuildBooksOptions, toJson: typeof bookToJson | typeof bookOrdersToJson,
): Promise<BookCommandOutput<B>> {
  const { market, symbols } = await rebuild(stream, {
    policy: { depth: 0, intervalNs: 0 }, at: opts.at, verify: opts.verify, onProgress: (m) => opts.onProgress?.(m.counts.mbo),
  });
  const books = [...market.books.values()]
    .sort((a, b) => a.instrumentId - b.instrumentId || a.publisherId - b.publisherId)
    .map((b) => toJson(b, symbols.get(b.instrumentId) ?? null, opts.depth) as B);
  return { dataset: stream.metadata.dataset, at: opts.at === undefined ? null : formatInstant(opts.at), books };
}

export function reconstructedBooks(stream: DbnStream, opts: RebuildBooksOptions): Promise<BookCommandOutput> {
  return rebuiltBooks(stream, opts, bookToJson);
}

/** As reconstructedBooks, each level with its resting orders in queue order. */
export function reconstructedOrders(stream: DbnStream, opts: RebuildBooksOptions): Promise<BookCommandOutput<BookOrdersJson>> {
  return rebuiltBooks(stream, opts, bookOrdersToJson);
}

export type OrdersFormat = 'text' | 'json' | 'csv';

/** `book --orders` output in `format`. */
export function formatOrders(out: BookCommandOutput<BookOrdersJson>, format: OrdersFormat): string {
  if (format === 'json') return JSON.stringify(out, null, 1) + '\n';
  if (format === 'csv') return ORDERS_CSV_HEADER + '\n' + out.books.map(ordersCsv).join('');
  const head = `${out.dataset || '(no dataset)'}: ${out.books.length} book${out.books.length === 1 ? '' : 's'}${out.at === null ? ' at the end of the file' : ` at ${out.at}`}\n`;
  return head + out.books.map(ordersText).join('');
}

export type MbpFormat = 'json' | 'csv' | 'dbn';

/** Writes snapshots as they are produced, with backpressure from `out`. */
export async function writeMbp(
  stream: DbnStream,
  out: Writable,
  opts: { depth: number; intervalNs: number; format: MbpFormat; verify?: boolean; onProgress?: (records: number) => void },
): Promise<number> {
  let written = 0;
  let onCaptured: (buf: SnapshotBuffer) => Promise<void>;
  let finish: () => Promise<void>;
  if (opts.format === 'dbn') {
    if (opts.depth !== 1 && opts.depth !== 10) throw new Error('--format dbn writes MBP-1 or MBP-10 records: use --depth 1 or 10');
    const schema = SCHEMA_NAMES.indexOf(opts.depth === 1 ? 'mbp-1' : 'mbp-10');
    const head = encodeMetadata({ ...stream.metadata, version: 3, schema, symbol_cstr_len: 71 });
    if (!out.write(head)) await once(out, 'drain');
    const length = mbpRecordLength(opts.depth);
    onCaptured = async (buf) => {
      // One write per captured batch; a fresh buffer each time, as `out` may queue it.
      const chunk = Buffer.allocUnsafe(buf.length * length);
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      for (let i = 0; i < buf.length; i++) writeMbpRecord(view, i * length, buf, i);
      written += buf.length;
      if (!out.write(chunk)) await once(out, 'drain');
    };
    finish = async () => undefined;
  } else {
    const writer = new MbpTextWriter(opts.format);
    if (opts.format === 'csv') writer.text(`${mbpCsvHeader(opts.depth)}\n`);
    onCaptured = async (buf) => {
      for (let i = 0; i < buf.length; i++) {
        writer.row(buf, i);
        if (writer.length >= FLUSH_BYTES) await writer.flushTo(out);
      }
      written += buf.length;
    };
    finish = () => writer.flushTo(out);
  }
  await rebuild(stream, {
    policy: { depth: opts.depth, intervalNs: opts.intervalNs }, verify: opts.verify, onCaptured, onProgress: (m) => opts.onProgress?.(m.counts.mbo),
  });
  await finish();
  return written;
}
