import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import { DbnError, decodeBuffer, type DbnErrorCode } from '../../src/dbn/index.js';
import { CLX5, chunked, decodeAll, fixture } from '../helpers.js';

const plain = fixture('test_data.mbo.v3.dbn'); // 360-byte header + 2 x 56-byte records
const RECORDS_AT = 8 + plain.readUInt32LE(4);

function mutate(bytes: Uint8Array, edit: (b: Buffer) => void): Buffer {
  const b = Buffer.from(bytes);
  edit(b);
  return b;
}

async function streamError(bytes: Uint8Array, chunk = 13): Promise<DbnError> {
  try {
    await decodeAll(chunked(bytes, [chunk]));
  } catch (err) {
    if (err instanceof DbnError) return err;
    throw err;
  }
  throw new Error('expected a DbnError, decoding succeeded');
}

function bufferError(bytes: Uint8Array): DbnError {
  try {
    decodeBuffer(bytes);
  } catch (err) {
    if (err instanceof DbnError) return err;
    throw err;
  }
  throw new Error('expected a DbnError, decoding succeeded');
}

const mbp10 = fixture('test_data.mbp-10.dbn');
const MBP_RECORDS_AT = 8 + mbp10.readUInt32LE(4);

const cases: Array<[string, Buffer, DbnErrorCode, number, RegExp]> = [
  ['an empty file', Buffer.alloc(0), 'EMPTY_INPUT', 0, /empty/],
  ['bad magic', mutate(plain, (b) => b.write('XBN', 0)), 'BAD_MAGIC', 0, /Not a DBN file/],
  ['a version above 3', mutate(plain, (b) => b.writeUInt8(4, 3)), 'UNSUPPORTED_VERSION', 3, /version 4 is not supported/],
  ['version 0', mutate(plain, (b) => b.writeUInt8(0, 3)), 'UNSUPPORTED_VERSION', 3, /version 0/],
  ['a file cut inside the prelude', plain.subarray(0, 6), 'TRUNCATED_METADATA', 6, /prelude/],
  ['a file cut inside the metadata', plain.subarray(0, 200), 'TRUNCATED_METADATA', 200, /ends inside the metadata/],
  ['a metadata length shorter than the fixed part', mutate(plain, (b) => b.writeUInt32LE(60, 4)), 'METADATA_TOO_SHORT', 4, /shorter than the 100-byte/],
  ['a non-zero schema definition length', mutate(plain, (b) => b.writeUInt32LE(12, 108)), 'SCHEMA_DEFINITION_UNSUPPORTED', 108, /schema definition/],
  ['a symbol count past the metadata', mutate(plain, (b) => b.writeUInt32LE(1000, 112)), 'BAD_METADATA', 112, /cannot fit/],
  ['a record length smaller than a header', mutate(plain, (b) => b.writeUInt8(2, RECORDS_AT + 56)), 'RECORD_TOO_SHORT', RECORDS_AT + 56, /shorter than the 16-byte/],
  ['a zero record length (would loop forever)', mutate(plain, (b) => b.writeUInt8(0, RECORDS_AT)), 'RECORD_TOO_SHORT', RECORDS_AT, /corrupt/],
  ['an MBO record too short for its fields', mutate(plain, (b) => b.writeUInt8(8, RECORDS_AT)), 'BAD_RECORD_LENGTH', RECORDS_AT, /needs 56/],
  ['an MBP-10 record too short for its levels', mutate(mbp10, (b) => b.writeUInt8(20, MBP_RECORDS_AT)), 'BAD_RECORD_LENGTH', MBP_RECORDS_AT, /MBP-10 record is 80 bytes, .* needs 368/],
  ['a record cut off at end of file', plain.subarray(0, plain.length - 10), 'TRUNCATED_RECORD', RECORDS_AT + 56, /cut off: 46 of its 56 bytes/],
];

describe('bad input gets a typed error with a code, the byte offset and advice', () => {
  for (const [what, bytes, code, offset, message] of cases) {
    it(`${what} -> ${code}`, async () => {
      for (const chunk of [1, 13, 4096]) {
        const err = await streamError(bytes, chunk);
        expect(err.code).toBe(code);
        expect(err.offset).toBe(offset);
        expect(err.message).toMatch(message);
        expect(err.message).toContain(`at byte ${offset}`);
      }
      const sync = bufferError(bytes);
      expect(sync.code).toBe(code);
      expect(sync.offset).toBe(offset);
    });
  }

  it('corrupt zstd -> ZSTD_CORRUPT, on both paths', async () => {
    const z = Buffer.from(fixture('test_data.mbo.v3.dbn.zst'));
    const corrupt = mutate(z, (b) => { for (let i = 12; i < b.length - 4; i++) b[i] ^= 0x5a; });
    expect((await streamError(corrupt)).code).toBe('ZSTD_CORRUPT');
    expect(bufferError(corrupt).code).toBe('ZSTD_CORRUPT');
  });

  it('a truncated zstd file is an error, never silent partial output', async () => {
    const big = compress(readFileSync(CLX5));
    const cut = big.subarray(0, Math.floor(big.length / 2));
    const err = await streamError(cut, 65536);
    expect(['ZSTD_CORRUPT', 'TRUNCATED_RECORD']).toContain(err.code);
    expect(['ZSTD_CORRUPT', 'TRUNCATED_RECORD']).toContain(bufferError(cut).code);
  });

  it('a zstd stream of something that is not DBN -> BAD_MAGIC', async () => {
    const err = await streamError(compress(Buffer.from('{"not":"dbn"}')));
    expect(err.code).toBe('BAD_MAGIC');
  });
});
