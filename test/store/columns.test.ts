import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Market } from '../../src/book/index.js';
import type { LevelField } from '../../src/book/snapshot-buffer.js';
import { decodeBuffer } from '../../src/dbn/index.js';
import { LEVEL_COLUMNS, levelColumn, topOfBook } from '../../src/store/columns.js';
import { CLX5 } from '../helpers.js';

// What the QuestDB adapter sends per row: it runs here on every CLX5 row,
// whether or not a QuestDB is configured.
describe('stored level columns and top of book, from the snapshot buffer', () => {
  it('equal the row object for every CLX5 snapshot', () => {
    const market = new Market({ depth: 10, intervalNs: 0 }, 40_000);
    const { batch } = decodeBuffer(readFileSync(CLX5));
    market.apply(batch, batch.start);
    const buf = market.snapshots;
    expect(buf.length).toBe(32_053);
    for (let i = 0; i < buf.length; i++) {
      const row = buf.row(i);
      const expected: Record<string, number[]> = {};
      for (const [side, packed] of [['bid', row.bids], ['ask', row.asks]] as const) {
        expected[`${side}_px`] = packed.filter((_, k) => k % 3 === 0).map((x) => x / 1e9);
        expected[`${side}_sz`] = packed.filter((_, k) => k % 3 === 1);
        expected[`${side}_ct`] = packed.filter((_, k) => k % 3 === 2);
      }
      const got = Object.fromEntries(LEVEL_COLUMNS.map((col, field) => [col, levelColumn(buf, i, field as LevelField)]));
      expect(got).toEqual(expected);
      const top = topOfBook(buf, i);
      expect([top.bidPx, top.bidSz, top.askPx, top.askSz]).toEqual([
        expected.bid_px[0] ?? NaN, expected.bid_sz[0] ?? NaN, expected.ask_px[0] ?? NaN, expected.ask_sz[0] ?? NaN,
      ]);
      expect([top.crossed, top.locked]).toEqual([row.crossed, row.locked]);
    }
  });
});
