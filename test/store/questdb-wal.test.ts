import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/store/port.js';
import { waitForWal, walTablesOf, type WalTable } from '../../src/store/questdb/wal.js';

/**
 * The wait for QuestDB's WAL, driven by wal_tables() states played back in
 * time (QuestDB applying, then stalling, suspending or restarting). The same
 * wait against a real server's WAL is in questdb.test.ts.
 */

const table = (writerTxn: number, sequencerTxn: number, more: Partial<WalTable> = {}): WalTable => ({
  name: 'book_snapshots', suspended: false, writerTxn, bufferedTxn: 0, sequencerTxn, memoryPressure: 0, error: '', ...more,
});

function captured() {
  const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
  return {
    lines,
    log: {
      info: (fields: Record<string, unknown>, msg: string) => lines.push({ level: 'info', msg, fields }),
      warn: (fields: Record<string, unknown>, msg: string) => lines.push({ level: 'warn', msg, fields }),
    },
  };
}

/** A WAL applied one transaction every `everyMs`, from `from` to `to`. */
function applying(from: number, to: number, everyMs: number) {
  const t0 = Date.now();
  return async () => [table(Math.min(to, from + Math.floor((Date.now() - t0) / everyMs)), to)];
}

describe('waiting for QuestDB to apply its WAL', () => {
  it('waits for as long as QuestDB applies transactions, well past the stall time, and logs where it is', async () => {
    const { lines, log } = captured();
    const t0 = performance.now();
    await waitForWal(applying(0, 12, 250), 'http://q', { stallMs: 1000, outageMs: 1000, log, logEveryMs: 1000 });
    expect(performance.now() - t0).toBeGreaterThan(2800); // 12 transactions, 0.25 s each: 3 s, three stall times
    const progress = lines.filter((l) => l.msg === 'waiting for QuestDB to apply its WAL');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[0]).toMatchObject({ level: 'info', fields: { tables: [{ table: 'book_snapshots', of: 12, memory_pressure: 0 }] } });
    expect(lines.at(-1)).toMatchObject({ level: 'info', msg: 'QuestDB applied its WAL' });
  });

  it('fails STORE_WAL_STALLED once QuestDB has applied nothing for the stall time, saying how far it got', async () => {
    const t0 = performance.now();
    const stuck = async () => [table(5, 9, { bufferedTxn: 1, memoryPressure: 2 })];
    const failure = await waitForWal(stuck, 'http://q', { stallMs: 800, outageMs: 1000, log: captured().log }).then(() => null, (e: unknown) => e);
    const elapsed = performance.now() - t0;
    expect(failure).toBeInstanceOf(StoreError);
    expect(failure).toMatchObject({
      code: 'STORE_WAL_STALLED', kind: 'unavailable',
      message: expect.stringMatching(/applied nothing of table book_snapshots's WAL for 800 ms \(BOOKTAPE_QDB_WAL_STALL_MS\): transaction 5 of 9 applied, memory pressure 2/),
    });
    expect(elapsed).toBeLessThan(3000);
  });

  it('waits for the transactions there when it began, not for other writers\' later ones', async () => {
    let polls = 0;
    // Others keep writing: the sequencer runs ahead by one each poll, the table follows 2 behind.
    const busy = async () => { polls++; return [table(8 + polls, 10 + polls)]; };
    await waitForWal(busy, 'http://q', { stallMs: 5000, outageMs: 1000, log: captured().log });
    expect(polls).toBeLessThan(5);
  });

  it('a table QuestDB suspended is logged at once and waited for: resumed in time, the wait succeeds; not, it fails with the reason and how to resume', async () => {
    const { lines, log } = captured();
    const t0 = Date.now();
    // Suspended (a full disk) for 1 s, then resumed by an operator and applied.
    const resumed = async () => (Date.now() - t0 < 1000
      ? [table(3, 9, { suspended: true, error: 'DISK_FULL: No space left on device' })]
      : [table(9, 9)]);
    await waitForWal(resumed, 'http://q', { stallMs: 3000, outageMs: 1000, log });
    expect(lines.filter((l) => l.level === 'warn')).toEqual([expect.objectContaining({
      msg: "QuestDB suspended table book_snapshots's WAL (DISK_FULL: No space left on device): waiting for ALTER TABLE book_snapshots RESUME WAL",
    })]);
    const suspended = async () => [table(3, 9, { suspended: true, error: 'DISK_FULL: No space left on device' })];
    await expect(waitForWal(suspended, 'http://q', { stallMs: 600, outageMs: 1000, log })).rejects.toMatchObject({
      code: 'STORE_WAL_STALLED',
      message: expect.stringMatching(/for 600 ms .*suspended table book_snapshots's WAL \(DISK_FULL: No space left on device\); see the server log, then ALTER TABLE book_snapshots RESUME WAL/),
    });
  });

  it('rides out QuestDB not answering for less than retry_timeout (logged at warn, start and end), and fails past it', async () => {
    const { lines, log } = captured();
    const t0 = Date.now();
    const restarting = async () => {
      if (Date.now() - t0 < 1000) throw new StoreError('STORE_UNAVAILABLE', 'QuestDB at http://q refused the connection (ECONNREFUSED): the server is down');
      return [table(9, 9)];
    };
    await waitForWal(restarting, 'http://q', { stallMs: 500, outageMs: 3000, log });
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'QuestDB does not answer while its WAL is applied; asking again'],
      ['warn', 'QuestDB answers again'],
    ]);
    const down = async (): Promise<WalTable[]> => { throw new StoreError('STORE_UNAVAILABLE', 'QuestDB at http://q refused the connection (ECONNREFUSED)'); };
    const t1 = performance.now();
    await expect(waitForWal(down, 'http://q', { stallMs: 60_000, outageMs: 600, log })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining('refused') });
    expect(performance.now() - t1).toBeLessThan(3000);
  });

  it('reads wal_tables() by column name, with or without the newer columns', () => {
    const full = walTablesOf({
      columns: ['name', 'suspended', 'writerTxn', 'bufferedTxnSize', 'sequencerTxn', 'errorTag', 'errorMessage', 'memoryPressure'].map((name) => ({ name, type: '' })),
      dataset: [['trades', true, 4, 1, 7, 'DISK_FULL', 'no space', 1]],
    });
    expect(full).toEqual([{ name: 'trades', suspended: true, writerTxn: 4, bufferedTxn: 1, sequencerTxn: 7, memoryPressure: 1, error: 'DISK_FULL: no space' }]);
    const old = walTablesOf({ columns: ['name', 'suspended', 'writerTxn', 'sequencerTxn'].map((name) => ({ name, type: '' })), dataset: [['trades', false, 7, 7]] });
    expect(old).toEqual([{ name: 'trades', suspended: false, writerTxn: 7, bufferedTxn: 0, sequencerTxn: 7, memoryPressure: null, error: '' }]);
  });
});
