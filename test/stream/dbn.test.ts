import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetadata, readPrelude } from '../../src/dbn/metadata.js';
import { ingest } from '../../src/pipeline/ingest.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import type { SnapshotStore } from '../../src/store/port.js';
import { mbpRecords, type MbpLevels } from '../../src/stream/dbn.js';
import { CLI, CLX5, recordsOf } from '../helpers.js';

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

describe('stored snapshots as DBN MBP records', () => {
  let store: DuckDbStore;
  const dir = mkdtempSync(join(tmpdir(), 'booktape-dbn-'));
  beforeAll(async () => {
    store = new DuckDbStore(join(dir, 's.duckdb'));
    await store.init();
    await ingest(CLX5, {
      store, snapshotPolicy: { depth: 10, intervalNs: 0 },
      sourcePolicy: { dataRoots: [join(CLX5, '..')], allowHosts: [], maxBytes: 1e12, timeoutMs: 5000, maxRedirects: 0 },
    });
  }, 60_000);
  afterAll(() => store.close());

  for (const levels of [10, 1] as MbpLevels[]) {
    it(`MBP-${levels}: the store's column encoder, the generic one and \`booktape mbp --format dbn\` write the same records`, async () => {
      const cli = execFileSync('node', [CLI, 'mbp', CLX5, '--format', 'dbn', '--depth', String(levels)], { maxBuffer: 64 * 2 ** 20, stdio: ['ignore', 'pipe', 'ignore'] });
      const expected = recordsOf(cli);
      const length = 48 + 32 * levels;
      expect(expected.length / length).toBe(32_053);
      const fast = await collect(mbpRecords(store, { symbols: ['CLX5'] }, levels));
      // The same store without its encoder: rows read as objects and encoded by stream/dbn.ts.
      const generic: SnapshotStore = Object.create(store, { readRangeMbp: { value: undefined } });
      const slow = await collect(mbpRecords(generic, { symbols: ['CLX5'] }, levels));
      for (const [name, got] of [['column encoder', fast], ['generic encoder', slow]] as const) {
        expect(got.length, name).toBe(expected.length);
        for (let o = 0; o < expected.length; o += length) {
          if (!got.subarray(o, o + length).equals(expected.subarray(o, o + length))) {
            throw new Error(`${name}: record ${o / length} differs from booktape mbp's`);
          }
        }
      }
    }, 60_000);
  }

  it('countRange counts what readRange yields, from, to and after included', async () => {
    const all = [];
    for await (const b of store.readRange({ symbols: ['CLX5'] })) all.push(...b);
    expect(await store.countRange({ symbols: ['CLX5'] })).toBe(all.length);
    expect(await store.countRange({ symbols: ['NOPE'] })).toBe(0);
    const mid = all[12_345];
    const after = { tsRecv: mid.tsRecv, instrumentId: mid.instrumentId, publisherId: mid.publisherId, sequence: mid.sequence, subSequence: mid.subSequence };
    expect(await store.countRange({ symbols: [], after })).toBe(all.length - 12_346);
    const to = all[20_000].tsRecv;
    const expected = all.filter((s) => s.tsRecv >= mid.tsRecv && s.tsRecv <= to).length;
    expect(await store.countRange({ symbols: ['CLX5'], from: mid.tsRecv, to })).toBe(expected);
    // The column encoder honours after as readRange does.
    const tail = await collect(mbpRecords(store, { symbols: ['CLX5'], after }, 1));
    expect(tail.length / 80).toBe(all.length - 12_346);
  }, 60_000);

  it('the metadata reads back with the project decoder', async () => {
    const { replayMetadata } = await import('../../src/stream/dbn.js');
    const head = replayMetadata({ symbols: ['CLX5'], instruments: await store.listInstruments(), start: 1n, end: 2n, records: 7, schema: 10 });
    const meta = parseMetadata(head, readPrelude(head));
    expect(meta).toMatchObject({ version: 3, schema: 2, limit: '7', symbols: ['CLX5'], not_found: [] });
    expect(meta.mappings[0].raw_symbol).toBe('CLX5');
  });
});
