import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { MboView, RType, RecordCounts, openDbnStream, type RecordBatch } from '../src/dbn/index.js';
import { mboToJson, type MboJson } from '../src/encode/mbo.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const FIXTURES = `${ROOT}test/fixtures/`;
export const CLX5 = `${ROOT}data/CLX5_mbo.dbn`;
export const CLI = `${ROOT}dist/src/cli.js`;

export function fixture(name: string): Buffer {
  return readFileSync(FIXTURES + name);
}

/** Splits bytes into chunks of the given sizes (cycled), as a network would. */
export function chunked(bytes: Uint8Array, sizes: number[]): AsyncIterable<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let o = 0, i = 0; o < bytes.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]);
    parts.push(bytes.subarray(o, o + n));
    o += n;
  }
  return Readable.from(parts);
}

export function batchRecords(b: RecordBatch, into: MboJson[], counts: RecordCounts): void {
  const v = new MboView();
  for (let o = b.start; o < b.end; o += b.view.getUint8(o) * 4) {
    const rtype = b.view.getUint8(o + 1);
    if (rtype === RType.MBO) {
      counts.mbo++;
      into.push(mboToJson(v.at(b.view, o)));
    } else counts.addOther(rtype);
  }
}

export async function decodeAll(source: AsyncIterable<Uint8Array>) {
  const stream = await openDbnStream(source);
  const records: MboJson[] = [];
  const counts = new RecordCounts();
  for await (const b of stream.batches) batchRecords(b, records, counts);
  return { metadata: stream.metadata, records, counts };
}

/** The records of a DBN stream: what follows its prelude and metadata. */
export function recordsOf(dbn: Buffer): Buffer {
  return dbn.subarray(8 + dbn.readUInt32LE(4));
}

/** Resolves with fn's first truthy answer, asking every 100 ms; throws naming `what` after `ms`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | null | false | undefined> | T | null | false | undefined, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
