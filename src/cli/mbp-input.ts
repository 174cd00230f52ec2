import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { RType, SCHEMA_NAMES, mbpRecordLength } from '../dbn/constants.js';
import { encodeMetadata } from '../dbn/encode.js';
import { RecordCounts } from '../dbn/framing.js';
import { HeaderOffset } from '../dbn/layout.js';
import type { Metadata } from '../dbn/metadata.js';
import type { DbnStream } from '../dbn/reader.js';
import { FLUSH_BYTES } from '../encode/bytes.js';
import { MbpTextWriter, mbpCsvHeader } from '../encode/mbp.js';

/**
 * MBP files in (Databento's, or what `mbp --format dbn` and `format=dbn`
 * replays write): `decode` prints their records and `mbp` writes them again
 * as they are or cut to MBP-1. There is no book to rebuild: each record is
 * already a snapshot.
 */

/** The levels of an MBP-1 or MBP-10 file by its metadata; null for any other schema. */
export function mbpLevelsOf(meta: Metadata): 1 | 10 | null {
  const name = meta.schema === null ? null : SCHEMA_NAMES[meta.schema];
  return name === 'mbp-1' ? 1 : name === 'mbp-10' ? 10 : null;
}

/** The MBP-1 record an MBP-10 record's top level makes, written at `to`: `mbp --depth 1` of the same book. */
function cutToMbp1(from: DataView, at: number, to: DataView, o: number): void {
  const length = mbpRecordLength(1);
  for (let k = 0; k < length; k += 4) to.setUint32(o + k, from.getUint32(at + k, true), true);
  to.setUint8(o, length / 4);
  to.setUint8(o + HeaderOffset.rtype, RType.MBP_1);
  to.setUint8(o + 31, 0); // MBP-1's depth: the only level there is
}

/**
 * Writes the MBP records of `stream` (whose file holds `levels` per record)
 * at `depth` (its own, or 1 from 10) as DBN (metadata first) or as json/csv
 * lines, at most `limit` of them. Answers how many were written; records
 * of other rtypes are skipped and counted by rtype in `skipped.other`.
 */
export async function writeMbpRecords(
  stream: DbnStream,
  out: Writable,
  opts: { levels: 1 | 10; depth: 1 | 10; format: 'json' | 'csv' | 'dbn'; limit?: number },
): Promise<{ written: number; skipped: RecordCounts }> {
  const skipped = new RecordCounts();
  const rtype = opts.levels === 10 ? RType.MBP_10 : RType.MBP_1;
  const cut = opts.depth !== opts.levels;
  const length = mbpRecordLength(opts.depth);
  const limit = opts.limit ?? Infinity;
  const text = opts.format === 'dbn' ? null : new MbpTextWriter(opts.format);
  const scratch = new DataView(new ArrayBuffer(mbpRecordLength(1)));
  const send = async (bytes: Uint8Array) => {
    if (!out.write(bytes)) await once(out, 'drain');
  };
  if (text === null) {
    const schema = SCHEMA_NAMES.indexOf(opts.depth === 1 ? 'mbp-1' : 'mbp-10');
    await send(encodeMetadata({ ...stream.metadata, version: 3, schema, symbol_cstr_len: 71 }));
  } else if (opts.format === 'csv') text.text(`${mbpCsvHeader(opts.depth)}\n`);
  let written = 0;
  try {
    batches: for await (const b of stream.batches) {
      // DBN output: a batch's records go out as one chunk, packed (other rtypes dropped, MBP-1 cuts shorter).
      const chunk = text === null ? Buffer.allocUnsafe(b.end - b.start) : null;
      const into = chunk === null ? null : new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let filled = 0;
      for (let o = b.start; o < b.end; o += b.view.getUint8(o) * 4) {
        if (written >= limit) break batches;
        const r = b.view.getUint8(o + HeaderOffset.rtype);
        if (r !== rtype) {
          skipped.addOther(r);
          continue;
        }
        written++;
        if (into !== null) {
          if (cut) cutToMbp1(b.view, o, into, filled);
          else chunk!.set(b.bytes.subarray(o, o + length), filled);
          filled += length;
        } else if (cut) {
          cutToMbp1(b.view, o, scratch, 0);
          text!.record(scratch, 0);
        } else text!.record(b.view, o);
        if (text !== null && text.length >= FLUSH_BYTES) await text.flushTo(out);
      }
      if (chunk !== null && filled > 0) await send(chunk.subarray(0, filled));
    }
  } finally {
    await stream.close();
    if (text !== null) await text.flushTo(out);
  }
  return { written, skipped };
}
