import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgConnection, type DataRow } from '../../src/store/questdb/pg-wire.js';
import { postgresUp, PG } from './postgres.js';
import { mbpRowReader, snapshotOfRow, type MbpRow } from '../../src/store/questdb/rows.js';
import { writeMbpSnapshot } from '../../src/encode/mbp.js';
import { mbpRecordLength } from '../../src/dbn/constants.js';
import type { RowKey } from '../../src/store/port.js';

/**
 * The hand-written PostgreSQL-wire reader (binary results, fields read in
 * place) against the `pg` library's text results for the same rows, on a
 * real PostgreSQL server: the machine's own, as the reference. QuestDB's
 * side of the same wire is covered by the QuestDB suites.
 */
const up = await postgresUp();
const SKIP = up ? '' : ' (skipped: no PostgreSQL on 127.0.0.1:5432)';

const ROWS = `SELECT x::int8 AS id, x::int8 * 1000000007 AS big, (x % 7)::int4 AS small, x * 1.25::float8 AS px,
  CASE WHEN x % 5 = 0 THEN NULL ELSE x / 3.0::float8 END AS maybe,
  ARRAY[[x * 0.5, x + 0.25, -x], [1e-9 * x, 2, 3], [x, x, x]]::float8[] AS levels,
  'SYM' || x AS symbol, x % 2 = 0 AS even
  FROM generate_series(1, 5000) x ORDER BY x`;

describe.skipIf(!up)(`PostgreSQL wire, binary results read in place${SKIP}`, () => {
  let conn: PgConnection;
  let reference: pg.Client;
  beforeAll(async () => {
    conn = await PgConnection.connect({ ...PG, connectTimeoutMs: 5000 });
    reference = new pg.Client({ host: PG.host, port: PG.port, user: PG.user, password: PG.password, database: PG.database });
    await reference.connect();
  });
  afterAll(async () => {
    await conn?.close();
    await reference?.end();
  });

  it('reads every type booktape selects exactly as the pg library does', async () => {
    const scratch = new Float64Array(64);
    const mine: unknown[][] = [];
    const n = await conn.query(ROWS, (r: DataRow) => {
      const dims = r.float64Array(5, scratch)!;
      mine.push([r.int64(0), r.int64Number(1), r.int32(2), r.float64(3), r.isNull(4) ? null : r.float64(4),
        dims, Array.from(scratch.subarray(0, dims[0] * dims[1])), r.text(6), r.bool(7)]);
    }, 5000);
    const want = (await reference.query({ text: ROWS, rowMode: 'array' })).rows as unknown[][];
    expect(n).toBe(5000);
    expect(mine).toEqual(want.map((w) => {
      const levels = w[5] as string[][];
      return [BigInt(w[0] as string), Number(w[1]), w[2], w[3], w[4], [levels.length, levels[0].length], levels.flat().map(Number), w[6], w[7]];
    }));
  });

  it('a rejected statement is an error naming the server\'s reason, and the connection goes on', async () => {
    await expect(conn.query('SELECT nope FROM nowhere', () => undefined, 5000)).rejects.toMatchObject({ kind: 'rejected', message: expect.stringMatching(/nowhere/) });
    expect(await conn.query('SELECT 1', () => undefined, 5000)).toBe(1);
  });

  it('a row sink that throws fails its query, not the connection', async () => {
    await expect(conn.query('SELECT 1 FROM generate_series(1, 10)', () => { throw new Error('sink broke'); }, 5000)).rejects.toThrow(/sink broke/);
    expect(await conn.query('SELECT 2', () => undefined, 5000)).toBe(1);
  });

  it('a deadline or a cancellation ends a slow query in bounded time and closes its connection', async () => {
    const slow = await PgConnection.connect({ ...PG, connectTimeoutMs: 5000 });
    const t0 = performance.now();
    await expect(slow.query('SELECT pg_sleep(5)', () => undefined, 300)).rejects.toMatchObject({ kind: 'timeout' });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(slow.usable).toBe(false);
    const other = await PgConnection.connect({ ...PG, connectTimeoutMs: 5000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(other.query('SELECT pg_sleep(5)', () => undefined, 10_000, controller.signal)).rejects.toMatchObject({ kind: 'cancelled' });
    expect(other.usable).toBe(false);
  });

  it('rows cut across TCP reads arrive whole: 200,000 rows of about 300 bytes', async () => {
    let sum = 0;
    const scratch = new Float64Array(64);
    const n = await conn.query(`SELECT x::int8, ARRAY[[x, x], [x, x], [x, x]]::float8[], repeat('x', 200) FROM generate_series(1, 200000) x`, (r) => {
      r.float64Array(1, scratch);
      sum += r.int64Number(0) + scratch[5] + r.length(2);
    }, 30_000);
    expect(n).toBe(200_000);
    expect(sum).toBe(2 * (200_000 * 200_001) / 2 + 200 * 200_000);
  });

  it('snapshot rows as QuestDB sends them: read straight into MBP records, the bytes of writeMbpSnapshot on the row read as a snapshot', async () => {
    // Rows in SNAPSHOT_SELECT's shape: 0 to 12 levels a side (some none), prices that are and are not on a level, NULL and NaN prices, NULL symbols.
    const levels = (n: string, top: string, step: string) => `CASE WHEN ${n} = 0 THEN '{}'::float8[] ELSE ARRAY[
      ARRAY(SELECT ${top} + k * ${step} FROM generate_series(0, ${n} - 1) k),
      ARRAY(SELECT (x + k)::float8 FROM generate_series(0, ${n} - 1) k),
      ARRAY(SELECT (1 + k % 4)::float8 FROM generate_series(0, ${n} - 1) k)] END`;
    const rows = `SELECT (1758740000000000000 + x / 3 * 1000)::int8, (1758740000000000000 + x * 999)::int8, (432669 + x % 3)::int8, (1 + x % 2)::int4,
      (x * 7)::int8, (x % 4)::int4, CASE WHEN x % 11 = 0 THEN NULL ELSE 'CL' || (x % 3) END, substr('ACMTFRN', x % 7 + 1, 1), substr('BAN', x % 3 + 1, 1),
      CASE WHEN x % 9 = 0 THEN NULL WHEN x % 9 = 1 THEN 'NaN'::float8 ELSE 65.12 - (x % 15) * 0.01 END, (x % 50)::int8, (x % 256)::int4, (x % 1000)::int4,
      (x % 13)::int4, x % 17 = 0, x % 19 = 0, ${levels('x % 13', '65.12', '-0.01')}, ${levels('(x * 7) % 13', '65.13', '0.01')}
      FROM generate_series(1, 3000) x ORDER BY x`;
    for (const depth of [1, 10] as const) {
      const encode = mbpRowReader(depth);
      const length = mbpRecordLength(depth);
      const got: { key: RowKey; bytes: Buffer }[] = [];
      const want: { key: RowKey; bytes: Buffer }[] = [];
      await conn.query(rows, (r) => {
        const row = encodeAndCopy(encode, r, length);
        got.push(row);
        const s = snapshotOfRow(r);
        const bytes = Buffer.alloc(length);
        writeMbpSnapshot(new DataView(bytes.buffer, bytes.byteOffset, length), 0, s, depth);
        want.push({ key: { tsRecv: s.tsRecv, instrumentId: s.instrumentId, publisherId: s.publisherId, sequence: s.sequence, subSequence: s.subSequence }, bytes });
      }, 10_000);
      expect(got.length).toBe(3000);
      expect(got.filter((g, i) => !g.bytes.equals(want[i].bytes)).length).toBe(0);
      expect(got.map((g) => g.key)).toEqual(want.map((w) => w.key));
      // Records whose trigger sits on a level below the top carry that level in their depth byte: the rows exercise it.
      expect(want.filter((w) => w.bytes[31] > 0).length).toBeGreaterThan(depth === 10 ? 100 : -1);
    }
  });
});

/** One row through mbpRowReader: its key, and a copy of its record (the reader's block is shared). */
function encodeAndCopy(encode: (r: DataRow) => MbpRow, r: DataRow, length: number): { key: RowKey; bytes: Buffer } {
  const { block, offset, ...key } = encode(r);
  return { key, bytes: Buffer.from(block.subarray(offset, offset + length)) };
}
