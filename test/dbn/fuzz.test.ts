import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DbnError, RecordCounts, decodeBuffer } from '../../src/dbn/index.js';
import { type MboJson } from '../../src/encode/mbo.js';
import { CLX5, batchRecords, chunked, decodeAll, fixture } from '../helpers.js';
import { propertyRuns } from '../property.js';

// The metadata and the first ~70 records of the real sample: small enough for
// thousands of cases, and it covers every part of the format.
const clx5Head = readFileSync(CLX5).subarray(0, 360 + 56 * 70);
const zstdFixture = fixture('test_data.mbo.v3.dbn.zst');

type Outcome = { ok: true; records: number } | { ok: false; code: string; offset: number };

async function viaStream(bytes: Uint8Array, chunks: number[]): Promise<Outcome> {
  try {
    const { records } = await decodeAll(chunked(bytes, chunks));
    return { ok: true, records: records.length };
  } catch (err) {
    if (!(err instanceof DbnError)) throw err; // anything untyped fails the property
    return { ok: false, code: err.code, offset: err.offset };
  }
}

function viaBuffer(bytes: Uint8Array): Outcome {
  try {
    const { batch } = decodeBuffer(bytes);
    const out: MboJson[] = [];
    batchRecords(batch, out, new RecordCounts());
    return { ok: true, records: out.length };
  } catch (err) {
    if (!(err instanceof DbnError)) throw err;
    return { ok: false, code: err.code, offset: err.offset };
  }
}

const mutation = (len: number) =>
  fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(len - 1), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(len - 1), value: fc.constant(0) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(len - 1), value: fc.integer({ min: 0, max: 255 }) }),
  );

function apply(bytes: Uint8Array, edits: Array<{ kind: 'flip' | 'truncate' | 'insert'; at: number; value: number }>): Buffer {
  let b = Buffer.from(bytes);
  for (const e of edits) {
    const at = Math.min(e.at, b.length);
    if (e.kind === 'flip') { if (at < b.length) b[at] = e.value; }
    else if (e.kind === 'truncate') b = b.subarray(0, at);
    else b = Buffer.concat([b.subarray(0, at), Buffer.from([e.value]), b.subarray(at)]);
  }
  return b;
}

describe('fuzz: random mutations of real files give records or a typed error', () => {
  it('plain DBN: 3000 mutated files; stream (random chunking) and buffer paths agree exactly', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(mutation(clx5Head.length), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 5 }),
        async (edits, chunks) => {
          const bytes = apply(clx5Head, edits);
          const a = await viaStream(bytes, chunks);
          const b = viaBuffer(bytes);
          expect(a).toEqual(b);
          if (!a.ok) expect(a.offset).toBeLessThanOrEqual(bytes.length);
        },
      ),
      propertyRuns(3000, 20261124),
    );
  });

  it('zstd DBN: 1000 mutated files', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation(zstdFixture.length), { minLength: 1, maxLength: 3 }), async (edits) => {
        const bytes = apply(zstdFixture, edits);
        await viaStream(bytes, [17]);
        viaBuffer(bytes);
      }),
      propertyRuns(1000, 7),
    );
  });
});

describe('chunk boundaries never change what is decoded', () => {
  it('CLX5 split at random sizes decodes to the same records as the whole buffer', async () => {
    const whole = readFileSync(CLX5);
    const reference: MboJson[] = [];
    batchRecords(decodeBuffer(whole).batch, reference, new RecordCounts());
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 200_000 }), { minLength: 1, maxLength: 8 }), async (chunks) => {
        const { records } = await decodeAll(chunked(whole, chunks));
        expect(records.length).toBe(reference.length);
        expect(records[records.length - 1]).toEqual(reference[reference.length - 1]);
        expect(records[12_345]).toEqual(reference[12_345]);
      }),
      propertyRuns(25, 3),
    );
  });
});
