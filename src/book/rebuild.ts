import { DbnError } from '../dbn/errors.js';
import { symbolsByInstrument, type Metadata } from '../dbn/metadata.js';
import type { DbnStream } from '../dbn/reader.js';
import { SCHEMA_MBO, schemaName } from '../dbn/constants.js';
import { BookInvariantError, checkBook } from './invariants.js';
import { Market, type SnapshotPolicy } from './market.js';
import type { SnapshotBuffer } from './snapshot-buffer.js';
import type { TradeBuffer } from './trade-buffer.js';
import type { MboEventBuffer } from './event-buffer.js';
import type { CheckpointBuffer } from './checkpoint-buffer.js';

/** Book commands need MBO: say so clearly for any other schema. */
export function requireMbo(meta: Metadata): void {
  if (meta.schema !== SCHEMA_MBO && meta.schema !== null) {
    throw new DbnError(
      'NOT_MBO',
      `This is a ${schemaName(meta.schema)} file; books are rebuilt from MBO (market-by-order) data (\`booktape decode\` and \`mbp\` also read MBP-1 and MBP-10 files; \`booktape meta\` prints any DBN file's metadata)`,
      24,
    );
  }
}

export interface RebuildOptions {
  policy: SnapshotPolicy;
  /** Stop after the last record with ts_recv <= at (ns). */
  at?: bigint;
  /** Check every book invariant after every record (slow). */
  verify?: boolean;
  /**
   * Receives captured snapshots (and trades, when the policy asks) whenever a
   * buffer fills and once at the end; decoding waits for it, so a slow writer
   * bounds memory. The buffers are cleared after it returns. `market`'s
   * counts are the records applied so far.
   */
  onCaptured?: (snapshots: SnapshotBuffer, trades: TradeBuffer, l3: { events: MboEventBuffer; checkpoints: CheckpointBuffer }, market: Market) => void | Promise<void>;
  /** Called after each batch, with the market (its record counts), for progress. */
  onProgress?: (market: Market) => void | Promise<void>;
  /** Rows per snapshot (and trade) buffer: larger batches for writers with a cost per write. */
  capacity?: number;
}

/**
 * Drives a DBN stream through a Market: the one loop behind `book`, `mbp`,
 * ingestion and the benchmarks.
 */
export async function rebuild(stream: DbnStream, opts: RebuildOptions): Promise<{ market: Market; symbols: Map<number, string> }> {
  requireMbo(stream.metadata);
  const policy = opts.onCaptured ? opts.policy : { depth: 0, intervalNs: 0 };
  const market = new Market(policy, opts.capacity);
  if (opts.verify) {
    market.afterRecord = (book, r) => {
      const problems = checkBook(book);
      if (problems.length > 0) throw new BookInvariantError(problems, `after the record at sequence ${r.sequence}`);
    };
  }
  const { snapshots, trades, events, checkpoints } = market;
  const drain = async () => {
    if (market.captured && opts.onCaptured) {
      await opts.onCaptured(snapshots, trades, { events, checkpoints }, market);
      market.clearCaptured();
    }
  };
  for await (const batch of stream.batches) {
    for (let o = batch.start; o < batch.end && !market.reachedUntil; ) {
      o = market.apply(batch, o, opts.at);
      if (market.full) await drain();
    }
    if (opts.onProgress) await opts.onProgress(market);
    if (market.reachedUntil) {
      await stream.close();
      break;
    }
  }
  await drain();
  return { market, symbols: symbolsByInstrument(stream.metadata) };
}
