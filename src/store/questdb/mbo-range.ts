/**
 * A range of QuestDB's mbo_events in key order, for MBO replays: pages that
 * are forward scans of the designated timestamp, as the store reads
 * snapshot ranges (a page never splits an instant: the rows of its last
 * instant start the next page, unless the page is one instant, read whole),
 * over whatever runs a query.
 */
import { compareKeys, type MboChunk, type RangeQuery, type RowKey } from '../port.js';
import { MboEventBuffer, type MboEventFields } from '../../book/event-buffer.js';
import { L3_COL as C, MBO_EVENTS } from './mbo.js';
import { EVENT_SELECT, eventOf, type Query } from './orders.js';
import { nsLiteral, quote } from './rows.js';

/** Where a page starts: an instant, and whether rows at it are in. */
type Start = { ts: bigint; inclusive: boolean } | null;

/** A range's symbol and publisher conditions. */
function scope(q: RangeQuery): string[] {
  const where: string[] = [];
  if (q.symbols.length) where.push(`${C.symbol} IN (${q.symbols.map(quote).join(', ')})`);
  if (q.publisherId !== undefined) where.push(`${C.publisherId} = ${Math.trunc(q.publisherId)}`);
  return where;
}

function pageSql(q: RangeQuery, start: Start, limit: number | null): string {
  const where = scope(q);
  if (start !== null) where.push(`${C.tsRecv} ${start.inclusive ? '>=' : '>'} ${nsLiteral(start.ts)}`);
  if (q.to !== undefined) where.push(`${C.tsRecv} <= ${nsLiteral(q.to)}`);
  return `SELECT ${EVENT_SELECT}, ${C.symbol} FROM ${MBO_EVENTS}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${C.tsRecv}${limit === null ? '' : ` LIMIT ${limit}`}`;
}

type Row = MboEventFields & { symbol: string | null };
const rowOf = (r: unknown[]): Row => ({ ...eventOf(r), symbol: (r[14] as string | null) ?? null });

/** The first page's start: `after`'s instant (rows up to it are dropped here), or `from`. */
function firstStart(q: RangeQuery): Start {
  if (q.after !== undefined && (q.from === undefined || q.after.tsRecv >= q.from)) return { ts: q.after.tsRecv, inclusive: true };
  return q.from !== undefined ? { ts: q.from, inclusive: true } : null;
}

export async function* readMboRange(query: Query, q: RangeQuery, signal?: AbortSignal): AsyncGenerator<MboChunk> {
  const pageSize = Math.max(2, q.pageSize ?? 4000);
  let remaining = q.limit ?? Infinity;
  const after: RowKey | undefined = q.after;
  type Page = { rows: Row[]; next: Start };
  const fetchPage = async (from: Start): Promise<Page> => {
    const rows = (await query(pageSql(q, from, pageSize))).map(rowOf);
    if (rows.length < pageSize) return { rows: rows.sort(compareKeys), next: null };
    const last = rows[rows.length - 1].tsRecv;
    if (rows[0].tsRecv === last) {
      const whole = (await query(pageSql({ ...q, to: last }, { ts: last, inclusive: true }, null))).map(rowOf);
      return { rows: whole.sort(compareKeys), next: { ts: last, inclusive: false } };
    }
    return { rows: rows.filter((r) => r.tsRecv !== last).sort(compareKeys), next: { ts: last, inclusive: true } };
  };
  let pending: Promise<Page> | null = fetchPage(firstStart(q));
  try {
    while (pending !== null && remaining > 0 && !signal?.aborted) {
      const page: Page = await pending;
      pending = page.next === null ? null : fetchPage(page.next);
      pending?.catch(() => undefined); // observed when awaited
      const kept = page.rows.filter((r) => after === undefined || compareKeys(r, after) > 0).slice(0, Math.min(page.rows.length, remaining));
      remaining -= kept.length;
      if (signal?.aborted) return;
      if (kept.length === 0) continue;
      const events = new MboEventBuffer(kept.length);
      for (const r of kept) events.push(r);
      yield { events, symbols: kept.map((r) => r.symbol) };
    }
  } finally {
    await pending?.catch(() => undefined);
  }
}

/** readMboRange's record count: those after `after`'s instant counted in SQL, those at it compared here. */
export async function countMboRange(query: Query, q: RangeQuery): Promise<number> {
  const start = firstStart(q);
  const where = scope(q);
  if (q.to !== undefined) where.push(`${C.tsRecv} <= ${nsLiteral(q.to)}`);
  const fromAfter = q.after !== undefined && start?.ts === q.after.tsRecv;
  if (start !== null) where.push(`${C.tsRecv} ${fromAfter ? '>' : '>='} ${nsLiteral(start.ts)}`);
  const [counted] = await query(`SELECT count() FROM ${MBO_EVENTS}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`);
  let n = Number(counted?.[0] ?? 0);
  if (fromAfter && (q.to === undefined || q.after!.tsRecv <= q.to)) {
    const at = [...scope(q), `${C.tsRecv} = ${nsLiteral(q.after!.tsRecv)}`];
    const keys = await query(`SELECT ${C.instrumentId}, ${C.publisherId}, ${C.sequence}, ${C.subSequence} FROM ${MBO_EVENTS} WHERE ${at.join(' AND ')}`);
    for (const k of keys) {
      const key = { tsRecv: q.after!.tsRecv, instrumentId: Number(k[0]), publisherId: Number(k[1]), sequence: Number(k[2]), subSequence: Number(k[3]) };
      if (compareKeys(key, q.after!) > 0) n++;
    }
  }
  return n;
}
