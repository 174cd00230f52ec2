import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Market } from '../../src/book/market.js';
import { decodeBuffer } from '../../src/dbn/index.js';
import type { StoredSnapshot } from '../../src/store/port.js';
import { snapshotFrameJson } from '../../src/stream/frames.js';
import { CLX5 } from '../helpers.js';
import { referenceFrame } from './frame-reference.js';

describe('replay frames', () => {
  it('the fast serializer writes exactly JSON.stringify of the reference frame, for every CLX5 snapshot and depth', () => {
    const market = new Market({ depth: 10, intervalNs: 0 });
    const { batch } = decodeBuffer(readFileSync(CLX5));
    const snapshots = market.applyBatch(batch);
    expect(snapshots.length).toBe(32_053);
    for (const s of snapshots) {
      const stored: StoredSnapshot = { ...s, symbol: 'CLX5' };
      for (const depth of [10, 3, Infinity]) expect(snapshotFrameJson(stored, depth)).toBe(JSON.stringify(referenceFrame(stored, depth)));
    }
  });

  it('escapes symbols, and writes null symbols, null and negative prices and empty sides', () => {
    const base: StoredSnapshot = {
      symbol: null, instrumentId: 1, publisherId: 2, tsRecv: 18446744073709551615n, tsEvent: 0n, sequence: 4294967295, subSequence: 3,
      action: 'R', side: 'N', price: null, size: 0, flags: 255, tsInDelta: -5, depth: 10, crossed: false, locked: true,
      bids: [], asks: [-1_500_000_000, 7, 1, 0, 1, 1],
    };
    for (const symbol of [null, 'ES "quoted" \\ back', 'Ω é\n', 'CLX5']) {
      const s = { ...base, symbol };
      const json = snapshotFrameJson(s);
      expect(json).toBe(JSON.stringify(referenceFrame(s)));
      expect(JSON.parse(json).symbol).toBe(symbol);
    }
    expect(JSON.parse(snapshotFrameJson(base)).asks).toEqual([['-1.500000000', 7, 1], ['0.000000000', 1, 1]]);
  });
});
