import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { KeyField } from '../../src/book/row-buffer.js';
import { SnapshotBuffer, SnapshotField } from '../../src/book/snapshot-buffer.js';
import { DEFAULT_REQUEST_BYTES, QuestDbStore } from '../../src/store/questdb/store.js';

/** Rows at depth 50, every level present: the widest rows the configuration allows. */
function deepRows(n: number): SnapshotBuffer {
  const b = new SnapshotBuffer(50, n);
  for (let i = 0; i < n; i++) {
    const r = b.at(b.length++);
    const ts = 1_758_742_200_000_000_000 + i * 1000;
    b.rows[r + KeyField.instrumentId] = 432669;
    b.rows[r + KeyField.publisherId] = 1;
    b.rows[r + KeyField.tsRecvHi] = Math.floor(ts / 2 ** 32);
    b.rows[r + KeyField.tsRecvLo] = ts % 2 ** 32;
    b.rows[r + KeyField.tsEventHi] = Math.floor(ts / 2 ** 32);
    b.rows[r + KeyField.tsEventLo] = ts % 2 ** 32;
    b.rows[r + KeyField.sequence] = i;
    b.rows[r + SnapshotField.action] = 0x41;
    b.rows[r + SnapshotField.side] = 0x42;
    b.rows[r + SnapshotField.price] = 65_000_000_000;
    b.rows[r + SnapshotField.size] = 1;
    b.rows[r + SnapshotField.bidLevels] = 50;
    b.rows[r + SnapshotField.askLevels] = 50;
    for (let k = 0; k < 300; k++) b.rows[b.slot(i, 0) + k] = 1_000_000_000 + k;
  }
  return b;
}

describe('QuestDB writes: request sizes and the event loop (an HTTP endpoint taking ILP; no QuestDB needed)', () => {
  it('a batch past the client\'s 100 MiB buffer (40,000 rows at depth 50) goes as requests of at most BOOKTAPE_QDB_REQUEST_MB (64 MiB), and no request holds the event loop', async () => {
    const sizes: number[] = [];
    const server = createServer((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => { n += c.length; });
      req.on('end', () => { sizes.push(n); res.writeHead(204).end(); });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const store = new QuestDbStore(`http::addr=127.0.0.1:${(server.address() as AddressInfo).port};`);
    const rows = deepRows(40_000);
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    await store.writeSnapshots(rows, () => 'CLX5');
    loop.disable();
    await store.close();
    await new Promise((r) => server.close(r));
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(100 * 2 ** 20);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(DEFAULT_REQUEST_BYTES);
    // Rows are encoded a slice at a time between turns of the event loop: ms each,
    // where the whole batch in one go takes seconds (more on a loaded machine, hence the margin).
    expect(loop.max / 1e6).toBeLessThan(1000);
  }, 60_000);
});
