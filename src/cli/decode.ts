import { RType } from '../dbn/constants.js';
import { MBO_CSV_COLUMNS, MboView, mboToCsvRow, mboToJson } from '../dbn/mbo.js';
import { RecordCounts } from '../dbn/framing.js';
import type { DbnStream } from '../dbn/reader.js';
import { LineWriter } from './line-writer.js';

export type DecodeFormat = 'json' | 'csv';

/**
 * Writes MBO records one per line; records of other rtypes are skipped and
 * counted (reported on stderr so they never corrupt the data on stdout).
 */
export async function writeDecoded(
  stream: DbnStream,
  out: LineWriter,
  opts: { format: DecodeFormat; limit: number },
): Promise<RecordCounts> {
  const counts = new RecordCounts();
  const r = new MboView();
  if (opts.format === 'csv') await out.line(MBO_CSV_COLUMNS.join(','));
  let emitted = 0;
  for await (const b of stream.batches) {
    for (let o = b.start; o < b.end; o += b.view.getUint8(o) * 4) {
      const rtype = b.view.getUint8(o + 1);
      if (rtype !== RType.MBO) {
        counts.addOther(rtype);
        continue;
      }
      counts.mbo++;
      r.at(b.view, o);
      await out.line(opts.format === 'csv' ? mboToCsvRow(r) : JSON.stringify(mboToJson(r)));
      if (++emitted >= opts.limit) return counts;
    }
  }
  return counts;
}
