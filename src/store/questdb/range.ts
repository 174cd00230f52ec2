import { breather } from '../../flow.js';
import { compareKeys, type RangeQuery, type RowKey } from '../port.js';
import { Conditions, type Statement } from './statement.js';
import { COL } from './schema.js';
import { nsLiteral, quote } from './rows.js';

/** Rows handed on at a time, with a turn of the event loop between. */
const BATCH_ROWS = 256;

/** Where a page starts: at or after an instant, or at the range's beginning. */
export type PageStart = { ts: bigint; inclusive: boolean } | null;

/** The first page's start: `after`'s instant (the rows up to it are dropped as they are read), or `from`. */
export function firstPageStart(q: RangeQuery): PageStart {
  if (q.after !== undefined && (q.from === undefined || q.after.tsRecv >= q.from)) return { ts: q.after.tsRecv, inclusive: true };
  return q.from !== undefined ? { ts: q.from, inclusive: true } : null;
}

/** A page's statement: q's rows from `start` in timestamp order, at most `limit` of them (null: all). */
export type PageSql = (q: RangeQuery, start: PageStart, limit: number | null) => Statement;

/**
 * The page statements of `table` (a table keyed as booktape's are),
 * selecting `columns`: a forward scan of the designated timestamp from the
 * page's start, its values bound as parameters.
 */
export function pageSqlOf(table: string, columns: string): PageSql {
  return (q, start, limit) => {
    const where = new Conditions();
    if (start !== null) where.at(COL.tsRecv, start.inclusive ? '>=' : '>', start.ts);
    if (q.to !== undefined) where.at(COL.tsRecv, '<=', q.to);
    where.oneOf(COL.symbol, q.symbols);
    if (q.publisherId !== undefined) where.compare(COL.publisherId, '=', Math.trunc(q.publisherId));
    return { sql: `SELECT ${columns} FROM ${table}${where} ORDER BY ${COL.tsRecv}${limit === null ? '' : ` LIMIT ${limit}`}`, params: where.params };
  };
}

/**
 * A range's rows in key order, in batches of at most BATCH_ROWS, read page
 * by page as `read` turns a statement's rows into the caller's rows (row
 * objects, or records encoded straight off the wire).
 *
 * A page is the next `pageSize` rows in timestamp order; the rows of its
 * last instant may continue past it, so they are left for the next page
 * (which starts at that instant), unless the whole page is one instant:
 * then that instant is read whole. Rows within a page are sorted by key
 * (the server orders by timestamp only). The next page is requested before
 * this one is handed on.
 */
export async function* keyOrderedRange<R extends RowKey>(
  q: RangeQuery,
  pageSql: PageSql,
  read: (stmt: Statement) => Promise<R[]>,
  signal?: AbortSignal,
): AsyncGenerator<R[]> {
  const pageSize = Math.max(2, q.pageSize ?? 2000);
  let remaining = q.limit ?? Infinity;
  const after: RowKey | undefined = q.after;
  type Page = { rows: R[]; next: PageStart };
  const fetchPage = async (from: PageStart): Promise<Page> => {
    const rows = await read(pageSql(q, from, pageSize));
    if (rows.length < pageSize) return { rows: inKeyOrder(rows), next: null };
    const last = rows[rows.length - 1].tsRecv;
    if (rows[0].tsRecv === last) {
      const whole = await read(pageSql({ ...q, to: last }, { ts: last, inclusive: true }, null));
      return { rows: inKeyOrder(whole), next: { ts: last, inclusive: false } };
    }
    return { rows: inKeyOrder(rows.filter((r) => r.tsRecv !== last)), next: { ts: last, inclusive: true } };
  };
  let pending: Promise<Page> | null = fetchPage(firstPageStart(q));
  try {
    while (pending !== null && remaining > 0 && !signal?.aborted) {
      const page: Page = await pending;
      pending = page.next === null ? null : fetchPage(page.next);
      pending?.catch(() => undefined); // observed when awaited
      let batch: R[] = [];
      for (const r of page.rows) {
        if (after !== undefined && compareKeys(r, after) <= 0) continue;
        if (remaining <= 0) break;
        remaining--;
        batch.push(r);
        if (batch.length < BATCH_ROWS) continue;
        yield batch;
        batch = [];
        // A page is in memory: without a turn of the event loop here, each
        // stream would take a whole page (its framing too) before a lookup
        // or another stream got a turn.
        await breather();
        if (signal?.aborted) return;
      }
      if (signal?.aborted) return;
      if (batch.length > 0) yield batch;
    }
  } finally {
    await pending?.catch(() => undefined);
  }
}

/** Rows in timestamp order, sorted by key: most pages are in key order already (ties at one ns are rare), and are left as they are. */
function inKeyOrder<R extends RowKey>(rows: R[]): R[] {
  for (let i = 1; i < rows.length; i++) if (compareKeys(rows[i - 1], rows[i]) > 0) return rows.sort(compareKeys);
  return rows;
}

/**
 * keyOrderedRange's row count on `table` (a table keyed as booktape's are):
 * rows past `after` are those after its instant, counted in SQL, plus those
 * at its instant that follow it in key order (few: one instant's rows),
 * compared here. `query` runs SQL through /exec.
 */
export async function countKeyOrdered(query: (sql: string) => Promise<unknown[][]>, table: string, q: RangeQuery): Promise<number> {
  const scope: string[] = [];
  if (q.symbols.length) scope.push(`${COL.symbol} IN (${q.symbols.map(quote).join(', ')})`);
  if (q.publisherId !== undefined) scope.push(`${COL.publisherId} = ${Math.trunc(q.publisherId)}`);
  const start = firstPageStart(q);
  const after = q.after !== undefined && start?.ts === q.after.tsRecv ? q.after : undefined;
  const where = [...scope];
  if (q.to !== undefined) where.push(`${COL.tsRecv} <= ${nsLiteral(q.to)}`);
  if (start !== null) where.push(`${COL.tsRecv} ${after ? '>' : '>='} ${nsLiteral(start.ts)}`);
  const [counted] = await query(`SELECT count() FROM ${table}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`);
  let n = Number(counted?.[0] ?? 0);
  if (after !== undefined && (q.to === undefined || after.tsRecv <= q.to)) {
    const at = [...scope, `${COL.tsRecv} = ${nsLiteral(after.tsRecv)}`];
    const keys = await query(`SELECT ${COL.instrumentId}, ${COL.publisherId}, ${COL.sequence}, ${COL.subSequence} FROM ${table} WHERE ${at.join(' AND ')}`);
    for (const k of keys) {
      const key = { tsRecv: after.tsRecv, instrumentId: Number(k[0]), publisherId: Number(k[1]), sequence: Number(k[2]), subSequence: Number(k[3]) };
      if (compareKeys(key, after) > 0) n++;
    }
  }
  return n;
}
