import { FLUSH_BYTES } from '../encode/bytes.js';
import type { Writable } from 'node:stream';
import { RType } from '../dbn/constants.js';
import { MBO_CSV_COLUMNS, MboTextWriter } from '../encode/mbo.js';
import { MboView } from '../dbn/mbo.js';
import { RecordCounts } from '../dbn/framing.js';
import type { DbnStream } from '../dbn/reader.js';
import { HeaderOffset } from '../dbn/layout.js';

export type DecodeFormat = 'json' | 'csv';

/**
 * Writes MBO records one per line; records of other rtypes are skipped and
 * counted (reported on stderr so they never corrupt the data on stdout).
 */
export async function writeDecoded(
  stream: DbnStream,
  out: Writable,
  opts: { format: DecodeFormat; limit: number },
): Promise<RecordCounts> {
  const counts = new RecordCounts();
  const r = new MboView();
  const writer = new MboTextWriter(opts.format);
  if (opts.format === 'csv') writer.text(`${MBO_CSV_COLUMNS.join(',')}\n`);
  let emitted = 0;
  try {
    for await (const b of stream.batches) {
      for (let o = b.start; o < b.end; o += b.view.getUint8(o) * 4) {
        const rtype = b.view.getUint8(o + HeaderOffset.rtype);
        if (rtype !== RType.MBO) {
          counts.addOther(rtype);
          continue;
        }
        counts.mbo++;
        writer.record(r.at(b.view, o));
        if (++emitted >= opts.limit) return counts;
        if (writer.length >= FLUSH_BYTES) await writer.flushTo(out);
      }
    }
    return counts;
  } finally {
    await writer.flushTo(out);
  }
}
