import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import { DbnError, openDbnStream } from '../../src/dbn/index.js';
import { decompressIfZstd } from '../../src/dbn/zstd.js';
import { InputPosition } from '../../src/dbn/input-position.js';
import { CLX5, chunked, recordsOf } from '../helpers.js';

const plain = readFileSync(CLX5);
const packed = compress(plain); // ~640 KB
const CHUNK = 4096;

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of source) parts.push(c);
  return Buffer.concat(parts);
}

async function failure(run: Promise<unknown>): Promise<unknown> {
  return run.then(() => { throw new Error('expected a failure'); }, (err: unknown) => err);
}

/** Compressed CLX5 in CHUNK-byte pieces, counting pulls and noting when the source is closed. */
function tracked(bytes: Uint8Array) {
  const state = { pulled: 0, closed: false, chunks: Math.ceil(bytes.length / CHUNK) };
  async function* source(): AsyncGenerator<Uint8Array> {
    try {
      for (let o = 0; o < bytes.length; o += CHUNK) {
        state.pulled++;
        yield bytes.subarray(o, o + CHUNK);
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, source: source() };
}

describe('zstd in a worker thread', () => {
  it('yields exactly the bytes the in-thread path does, and a DBN stream reads through it', async () => {
    const here = await collect(decompressIfZstd(chunked(packed, [CHUNK, 777])));
    const there = await collect(decompressIfZstd(chunked(packed, [CHUNK, 777]), { thread: true }));
    expect(here.equals(plain)).toBe(true);
    expect(there.equals(plain)).toBe(true);
    const stream = await openDbnStream(chunked(packed, [65_536]), { thread: true });
    let bytes = 0;
    for await (const b of stream.batches) bytes += b.end - b.start;
    expect(stream.metadata.dataset).toBe('GLBX.MDP3');
    expect(bytes % 56).toBe(0);
    expect(bytes / 56).toBeGreaterThan(30_000);
  });

  it('the input position follows the output handed on, not the compressed bytes read ahead of it, in the thread and out', async () => {
    for (const [input, opts] of [[packed, {}], [packed, { thread: true }], [plain, {}]] as const) {
      const position = new InputPosition();
      // A copy: the thread takes over (transfers) a chunk that is its buffer's whole.
      const stream = await openDbnStream(chunked(Buffer.from(input), [1 << 20]), { ...opts, position });
      let decoded = plain.length - recordsOf(plain).length;
      let worst = 0;
      for await (const b of stream.batches) {
        decoded += b.end - b.start;
        worst = Math.max(worst, Math.abs(position.bytes / input.length - decoded / plain.length));
      }
      // zstd's own count of the compressed bytes it took leads the records by
      // about an output buffer (128 KB of 2.1 MB) and the block behind it: 0.128
      // here, the same every run. Plain input: to a 1 MB read chunk of 2.1 MB.
      expect(worst).toBeLessThan(input === plain ? 0.5 : 0.15);
      expect(position.bytes).toBe(input.length);
    }
  });

  it('corrupt zstd is ZSTD_CORRUPT with an offset into the compressed input, as in-thread', async () => {
    // With a checksum, damage in the middle is caught (without one, zstd may decode garbage).
    const bad = Buffer.from(compress(plain, { checksumFlag: true }));
    for (let i = 200_000; i < 200_064; i++) bad[i] ^= 0xa5;
    for (const opts of [{}, { thread: true }]) {
      const err = await failure(collect(decompressIfZstd(chunked(bad, [CHUNK]), opts)));
      expect(err).toBeInstanceOf(DbnError);
      expect((err as DbnError).code).toBe('ZSTD_CORRUPT');
      expect((err as DbnError).offset).toBeGreaterThan(0);
      expect((err as DbnError).offset).toBeLessThanOrEqual(bad.length);
      expect((err as DbnError).message).toMatch(/ \(at byte \d+\)$/);
      expect((err as DbnError).message).not.toMatch(/at byte \d+\) \(at byte/);
    }
  });

  it('a failure of the source itself comes through as it is', async () => {
    const gone = new Error('disk gone');
    async function* source(): AsyncGenerator<Uint8Array> {
      yield packed.subarray(0, CHUNK);
      yield packed.subarray(CHUNK, 2 * CHUNK);
      throw gone;
    }
    expect(await failure(collect(decompressIfZstd(source(), { thread: true })))).toBe(gone);
  });

  it('a consumer that stops pulling holds the source back, and stopping early closes it', async () => {
    const { state, source } = tracked(packed);
    const out = decompressIfZstd(source, { thread: true });
    const first = await out.next();
    expect(first.done).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(state.pulled).toBeLessThan(state.chunks / 2); // bounded read-ahead, not the whole input
    await out.return(undefined);
    expect(state.closed).toBe(true);
  });

  // A zstd thread that outlives its reader keeps the process alive (the CLI's
  // `meta` and `book --at` hung on large .zst files): every way to stop closes it.
  describe('a DBN stream over it closes the thread and the source', () => {
    it('when the reader breaks out of the batches', async () => {
      const { state, source } = tracked(packed);
      const stream = await openDbnStream(source, { thread: true });
      for await (const b of stream.batches) {
        expect(b.end).toBeGreaterThan(b.start);
        break;
      }
      expect(state.closed).toBe(true);
      expect(state.pulled).toBeLessThan(state.chunks);
    });

    it('when the reader closes it without iterating (metadata only)', async () => {
      const { state, source } = tracked(packed);
      const stream = await openDbnStream(source, { thread: true });
      expect(stream.metadata.dataset).toBe('GLBX.MDP3');
      expect(state.closed).toBe(false);
      await stream.close();
      expect(state.closed).toBe(true);
      await stream.close(); // twice is fine
    });

    it('when the metadata is bad', async () => {
      const notDbn = Buffer.from(plain);
      notDbn.write('XYZ', 0, 'latin1');
      const { state, source } = tracked(compress(notDbn));
      const err = await failure(openDbnStream(source, { thread: true }));
      expect(err).toBeInstanceOf(DbnError);
      expect(state.closed).toBe(true);
    });

    it('when a record in the middle is bad', async () => {
      const bad = Buffer.from(plain);
      const at = 8 + bad.readUInt32LE(4) + 56 * 1000; // the 1001st record
      bad[at] = 0; // length 0: not a record
      const { state, source } = tracked(compress(bad));
      const stream = await openDbnStream(source, { thread: true });
      const err = await failure((async () => { for await (const _ of stream.batches); })());
      expect(err).toBeInstanceOf(DbnError);
      expect((err as DbnError).offset).toBe(at);
      expect(state.closed).toBe(true);
    });
  });
});
