/** The L3 reads (L3Reads) on the embedded store's mbo_events and order_checkpoints. */
import type { DuckDBValue } from '@duckdb/node-api';
import { UNDEF_PRICE } from '../../dbn/constants.js';
import type { Checkpoint, CheckpointEntry } from '../../book/l3.js';
import type { MboEventBuffer } from '../../book/event-buffer.js';
import type { BookRef, L3Reads } from '../port.js';
import { LATEST, eventsAfter, wholeCheckpoint, type CheckpointHead } from '../l3.js';

/** Runs one query: its rows as objects, BIGINTs as bigints. */
export type ObjectQuery = (sql: string, params: DuckDBValue[]) => Promise<Array<Record<string, unknown>>>;

/** Checkpoint heads a lookup reads back from its instant. */
const HEADS = 3;

/** The first window a backward search reads: a checkpoint interval at the defaults, where the answer almost always is. */
const FIRST_WINDOW_NS = 60_000_000_000n;

/**
 * The rows `read` finds in the latest window of ts_recv before `at` that has
 * any: [at - w, at] for w = 60 s, then 16 times wider, down to the epoch.
 * DuckDB's ORDER BY ... LIMIT reads every row its filter passes; a bounded
 * window lets zone maps on ts_recv skip the rest of the table, so a lookup
 * costs its neighbourhood, not the table's age.
 */
async function latestIn<T>(at: bigint, read: (from: bigint, to: bigint) => Promise<T[]>): Promise<T[]> {
  for (let width = FIRST_WINDOW_NS; ; width *= 16n) {
    const from = at > width ? at - width : 0n;
    const rows = await read(from, at);
    if (rows.length > 0 || from === 0n) return rows;
  }
}

const BOOK = 'symbol = $1 AND instrument_id = $2 AND publisher_id = $3';
const bookParams = (b: BookRef): DuckDBValue[] => [b.symbol, b.instrumentId, b.publisherId];

export class DuckDbL3Reads implements L3Reads {
  constructor(private readonly query: ObjectQuery) {}

  async latestBook(symbol: string, at: bigint | undefined, publisherId?: number): Promise<BookRef | null> {
    const [r] = await latestIn(at ?? LATEST, (from, to) => this.query(`SELECT instrument_id, publisher_id FROM mbo_events
      WHERE symbol = $1 AND ts_recv BETWEEN $2 AND $3 ${publisherId === undefined ? '' : 'AND publisher_id = $4'}
      ORDER BY ts_recv DESC, instrument_id DESC, publisher_id DESC, sequence DESC, sub_sequence DESC LIMIT 1`,
    [symbol, from, to, ...(publisherId === undefined ? [] : [publisherId])]));
    return r === undefined ? null : { symbol, instrumentId: Number(r.instrument_id), publisherId: Number(r.publisher_id) };
  }

  async checkpoint(book: BookRef, at: bigint): Promise<Checkpoint | null> {
    // Window by window back from `at`, as latestIn reads: the heads of each, the latest whole one wins.
    for (let width = FIRST_WINDOW_NS, to = at; ; width *= 16n) {
      const from = to > width ? to - width : 0n;
      const heads = (await this.query(`SELECT ts_recv, sequence, sub_sequence, size FROM order_checkpoints
        WHERE ${BOOK} AND rank = 0 AND ts_recv BETWEEN $4 AND $5 ORDER BY ts_recv DESC, sequence DESC, sub_sequence DESC LIMIT ${HEADS}`, [...bookParams(book), from, to]))
        .map((r) => ({ tsRecv: r.ts_recv as bigint, sequence: Number(r.sequence), subSequence: Number(r.sub_sequence), rows: Number(r.size) }));
      const whole = await wholeCheckpoint(book, heads, (head) => this.entries(book, head));
      if (whole !== null || from === 0n) return whole;
      // None whole in this window (or none at all): the next window ends before the heads read.
      to = heads.length === 0 ? from - 1n : heads.reduce((m, h) => (h.tsRecv < m ? h.tsRecv : m), heads[0].tsRecv) - 1n;
      if (to < 0n) return null;
    }
  }

  /** A checkpoint's rows after its head, in rank order. */
  private async entries(book: BookRef, head: CheckpointHead): Promise<CheckpointEntry[]> {
    const rows = await this.query(`SELECT kind, side, price, size, order_id, order_ts_recv FROM order_checkpoints
      WHERE ${BOOK} AND ts_recv = $4 AND sequence = $5 AND sub_sequence = $6 AND rank > 0 ORDER BY rank`,
    [...bookParams(book), head.tsRecv, head.sequence, head.subSequence]);
    return rows.map((r): CheckpointEntry => {
      const order = r.kind === 'order';
      return {
        kind: order ? 'order' : 'tob', side: r.side as 'B' | 'A', price: Number(r.price as bigint), size: Number(r.size),
        orderId: order ? (r.order_id as bigint) : 0n, queuedAt: order ? (r.order_ts_recv as bigint) : 0n,
      };
    });
  }

  async events(book: BookRef, after: Checkpoint | null, until: bigint): Promise<MboEventBuffer> {
    const rows = await this.query(`SELECT * FROM mbo_events WHERE ${BOOK} AND ts_recv BETWEEN $4 AND $5`, [...bookParams(book), after?.tsRecv ?? 0n, until]);
    return eventsAfter(rows.map((r) => ({
      tsRecv: r.ts_recv as bigint, tsEvent: r.ts_event as bigint, publisherId: Number(r.publisher_id), instrumentId: Number(r.instrument_id),
      action: (r.action as string).charCodeAt(0), side: (r.side as string).charCodeAt(0), price: (r.price as bigint | null) ?? UNDEF_PRICE,
      size: Number(r.size), channelId: Number(r.channel_id), orderId: r.order_id as bigint, flags: Number(r.flags), tsInDelta: Number(r.ts_in_delta),
      sequence: Number(r.sequence), subSequence: Number(r.sub_sequence),
    })), after);
  }

  async orderBooks(orderId: bigint, symbol: string, publisherId?: number): Promise<Array<{ book: BookRef; first: bigint; last: bigint }>> {
    const rows = await this.query(`SELECT instrument_id, publisher_id, min(ts_recv) AS first, max(ts_recv) AS last FROM mbo_events
      WHERE symbol = $1 AND order_id = $2 ${publisherId === undefined ? '' : 'AND publisher_id = $3'} GROUP BY ALL ORDER BY ALL`,
    [symbol, orderId, ...(publisherId === undefined ? [] : [publisherId])]);
    return rows.map((r) => ({ book: { symbol, instrumentId: Number(r.instrument_id), publisherId: Number(r.publisher_id) }, first: r.first as bigint, last: r.last as bigint }));
  }
}
