/**
 * Waiting for QuestDB to apply its WAL. A write is acknowledged once it is
 * in a table's write-ahead log; QuestDB applies it to the table (where reads
 * see it) afterwards, on its own threads. Applying rows that land among rows
 * a day partition already holds (a second file of the same day, a late
 * correction) rewrites the partition from the first such row on, and can take
 * minutes. The wait therefore follows QuestDB's progress, not a clock.
 */
import { StoreError, type StoreLog } from '../port.js';
import type { ExecResult } from './connection.js';

/** One table's WAL, as `wal_tables()` reports it. */
export interface WalTable {
  name: string;
  suspended: boolean;
  /** The last transaction applied to the table: what reads see. */
  writerTxn: number;
  /** Transactions applied into memory but not yet committed to the table (QuestDB's "lag"). */
  bufferedTxn: number;
  /** The last transaction in the WAL. */
  sequencerTxn: number;
  /** QuestDB's memory pressure level while applying (0: none); null on servers that do not report it. */
  memoryPressure: number | null;
  /** Why QuestDB suspended the table, when it did. */
  error: string;
}

/** wal_tables() rows, read by column name (the columns differ between QuestDB versions). */
export function walTablesOf(result: ExecResult): WalTable[] {
  const at = (name: string) => result.columns.findIndex((c) => c.name === name);
  const [name, suspended, writerTxn, buffered, sequencerTxn, pressure, tag, message] =
    ['name', 'suspended', 'writerTxn', 'bufferedTxnSize', 'sequencerTxn', 'memoryPressure', 'errorTag', 'errorMessage'].map(at);
  return (result.dataset ?? []).map((r) => ({
    name: String(r[name]),
    suspended: r[suspended] === true,
    writerTxn: Number(r[writerTxn]),
    bufferedTxn: buffered < 0 ? 0 : Number(r[buffered] ?? 0),
    sequencerTxn: Number(r[sequencerTxn]),
    memoryPressure: pressure < 0 || r[pressure] === null ? null : Number(r[pressure]),
    error: [tag < 0 ? '' : String(r[tag] ?? ''), message < 0 ? '' : String(r[message] ?? '')].filter(Boolean).join(': '),
  }));
}

export interface WalWaitOptions {
  /** The wait fails once no table's WAL has moved for this long (BOOKTAPE_QDB_WAL_STALL_MS). */
  stallMs: number;
  /** Polls that fail (QuestDB restarting) are retried for this long: the writes' retry_timeout. */
  outageMs: number;
  log: StoreLog;
  /** How often a long wait logs its progress. */
  logEveryMs?: number;
}

const FIRST_POLL_MS = 50;
const LAST_POLL_MS = 1_000;
export const WAL_LOG_EVERY_MS = 10_000;

/**
 * Waits until every table has applied the WAL transactions it held when
 * the wait began (so a stream of other writers' rows does not keep it
 * waiting). Progress is any change of a table's applied or buffered
 * transactions; the wait fails STORE_WAL_STALLED when there has been none
 * for `stallMs`. A table QuestDB suspended (a full disk, say) applies
 * nothing until an operator resumes it: that is logged at once, at warn,
 * and waited for like any stall, so an operator who resumes it in time
 * saves the run. A long wait logs where it is every `logEveryMs`.
 */
export async function waitForWal(read: () => Promise<WalTable[]>, base: string, opts: WalWaitOptions): Promise<void> {
  const logEveryMs = opts.logEveryMs ?? WAL_LOG_EVERY_MS;
  const started = Date.now();
  let target: Map<string, number> | null = null;
  let seen = '';
  let movedAt = started;
  let loggedAt = started;
  let failingSince: number | null = null;
  let suspension: string | null = null;
  for (let pause = FIRST_POLL_MS; ; pause = Math.min(pause * 2, LAST_POLL_MS)) {
    let tables: WalTable[];
    try {
      tables = await read();
    } catch (err) {
      if (!(err instanceof StoreError) || err.code !== 'STORE_UNAVAILABLE') throw err;
      const now = Date.now();
      if (failingSince === null) {
        failingSince = now;
        opts.log.warn({ questdb: base, err: err.message, retry_timeout_ms: opts.outageMs }, 'QuestDB does not answer while its WAL is applied; asking again');
      } else if (now - failingSince > opts.outageMs) throw err;
      await new Promise((res) => setTimeout(res, pause));
      continue;
    }
    const now = Date.now();
    if (failingSince !== null) {
      opts.log.warn({ questdb: base, down_ms: now - failingSince }, 'QuestDB answers again');
      failingSince = null;
      // An outage is no stall: the stall clock starts again.
      movedAt = now;
    }
    const suspended = tables.find((t) => t.suspended);
    const why = suspended ? `QuestDB suspended table ${suspended.name}'s WAL${suspended.error ? ` (${suspended.error})` : ''}` : null;
    if (why !== null && why !== suspension) {
      opts.log.warn({ questdb: base, table: suspended!.name, err: why, stall_ms: opts.stallMs }, `${why}: waiting for ALTER TABLE ${suspended!.name} RESUME WAL`);
    }
    suspension = why;
    target ??= new Map(tables.map((t) => [t.name, t.sequencerTxn]));
    const left = tables.filter((t) => t.writerTxn < (target!.get(t.name) ?? 0));
    const state = tables.map((t) => `${t.name}:${t.writerTxn}:${t.bufferedTxn}`).join(',');
    if (state !== seen) {
      seen = state;
      movedAt = now;
    }
    const progress = () => left.map((t) => ({ table: t.name, applied: t.writerTxn, of: target!.get(t.name), buffered: t.bufferedTxn, memory_pressure: t.memoryPressure }));
    if (left.length === 0) {
      if (now - started >= logEveryMs) opts.log.info({ questdb: base, waited_ms: now - started }, 'QuestDB applied its WAL');
      return;
    }
    if (now - movedAt > opts.stallMs) {
      const t = suspended ?? left[0];
      const where = `QuestDB at ${base} applied nothing of table ${t.name}'s WAL for ${opts.stallMs} ms (BOOKTAPE_QDB_WAL_STALL_MS): transaction ${t.writerTxn} of ${target.get(t.name)} applied${t.memoryPressure ? `, memory pressure ${t.memoryPressure}` : ''}`;
      const todo = suspended
        ? `${why}; see the server log, then ALTER TABLE ${t.name} RESUME WAL`
        : 'see the server log, its memory and its disk';
      throw new StoreError('STORE_WAL_STALLED', `${where}; the rows are in its WAL and land once it applies them; ${todo}`);
    }
    if (now - loggedAt >= logEveryMs) {
      loggedAt = now;
      opts.log.info({ questdb: base, waited_ms: now - started, still_ms: now - movedAt, tables: progress() }, 'waiting for QuestDB to apply its WAL');
    }
    await new Promise((res) => setTimeout(res, pause));
  }
}
