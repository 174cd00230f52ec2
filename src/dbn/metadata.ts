import { DBN_MAGIC, FIXED_METADATA_LENGTH, MAX_DBN_VERSION, PRELUDE_LENGTH, SCHEMA_MIXED } from './constants.js';
import { DbnError } from './errors.js';

export interface MappingInterval {
  /** YYYYMMDD, as DBN stores it. */
  start_date: number;
  end_date: number;
  /** The mapped symbol; for stype_out instrument_id this is the instrument id as text. */
  symbol: string;
}

export interface SymbolMapping {
  raw_symbol: string;
  intervals: MappingInterval[];
}

/**
 * DBN metadata. Field names follow Databento's own metadata JSON so the
 * `meta` command's output can be compared with theirs; u64 values are decimal
 * strings because they can exceed 2^53.
 */
export interface Metadata {
  version: number;
  dataset: string;
  /** Schema id (0 = mbo); null for a mixed-schema file. */
  schema: number | null;
  start: string;
  end: string;
  limit: string;
  stype_in: number | null;
  stype_out: number;
  ts_out: boolean;
  symbol_cstr_len: number;
  symbols: string[];
  partial: string[];
  not_found: string[];
  mappings: SymbolMapping[];
}

/** Metadata beyond this is refused rather than buffered: no real file comes close. */
export const MAX_METADATA_LENGTH = 64 * 1024 * 1024;

export interface Prelude {
  version: number;
  /** Byte length of the metadata after the 8-byte prelude. */
  metadataLength: number;
}

/** Reads and checks the 8-byte prelude. `bytes` must hold at least 8 bytes. */
export function readPrelude(bytes: Uint8Array): Prelude {
  if (bytes.length === 0) {
    throw new DbnError('EMPTY_INPUT', 'The input is empty: expected a DBN file starting with "DBN"', 0);
  }
  for (let i = 0; i < DBN_MAGIC.length; i++) {
    if (i >= bytes.length || bytes[i] !== DBN_MAGIC[i]) {
      throw new DbnError(
        'BAD_MAGIC',
        'Not a DBN file: it does not start with "DBN" (nor with a zstd frame). Check the path, or download the file again',
        i,
      );
    }
  }
  if (bytes.length < PRELUDE_LENGTH) {
    throw new DbnError('TRUNCATED_METADATA', `The file ends inside the 8-byte DBN prelude (${bytes.length} bytes)`, bytes.length);
  }
  const version = bytes[3];
  if (version < 1 || version > MAX_DBN_VERSION) {
    throw new DbnError(
      'UNSUPPORTED_VERSION',
      `DBN version ${version} is not supported (this booktape reads versions 1 to ${MAX_DBN_VERSION}); upgrade booktape or re-export the file with a supported version`,
      3,
    );
  }
  const metadataLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (metadataLength < FIXED_METADATA_LENGTH) {
    throw new DbnError(
      'METADATA_TOO_SHORT',
      `Metadata length ${metadataLength} is shorter than the ${FIXED_METADATA_LENGTH}-byte fixed part: the file is corrupt`,
      4,
    );
  }
  if (metadataLength > MAX_METADATA_LENGTH) {
    throw new DbnError(
      'BAD_METADATA',
      `Metadata length ${metadataLength} bytes exceeds the ${MAX_METADATA_LENGTH}-byte limit: the file is corrupt`,
      4,
    );
  }
  return { version, metadataLength };
}

/**
 * A bounds-checked reader over the metadata bytes, so that a length field that
 * points past the end becomes a clear error instead of a RangeError.
 */
class MetadataCursor {
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array, public pos: number, private readonly end: number) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(n: number, what: string): void {
    if (this.pos + n > this.end) {
      throw new DbnError(
        'BAD_METADATA',
        `Metadata is inconsistent: ${what} runs past the declared metadata length`,
        this.pos,
      );
    }
  }
  u8(): number { this.need(1, 'a field'); return this.view.getUint8(this.pos++); }
  u16(): number { this.need(2, 'a field'); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  u32(what = 'a field'): number { this.need(4, what); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  u64(): bigint { this.need(8, 'a field'); const v = this.view.getBigUint64(this.pos, true); this.pos += 8; return v; }
  cstr(len: number, what: string): string {
    this.need(len, what);
    const slice = this.bytes.subarray(this.pos, this.pos + len);
    const nul = slice.indexOf(0);
    this.pos += len;
    return Buffer.from(slice.buffer, slice.byteOffset, nul === -1 ? len : nul).toString('utf8');
  }
  skip(n: number): void { this.need(n, 'reserved bytes'); this.pos += n; }
  /** A count of items of `itemLen` bytes each; rejects counts the remaining bytes cannot hold. */
  count(itemLen: number, what: string): number {
    const start = this.pos;
    const n = this.u32(`the ${what} count`);
    if (n * itemLen > this.end - this.pos) {
      throw new DbnError('BAD_METADATA', `Metadata is inconsistent: ${n} ${what} cannot fit in the metadata`, start);
    }
    return n;
  }
}

/**
 * Parses the metadata that follows the prelude. `bytes` holds the whole file
 * prefix up to at least `PRELUDE_LENGTH + prelude.metadataLength` bytes.
 */
export function parseMetadata(bytes: Uint8Array, prelude: Prelude): Metadata {
  const end = PRELUDE_LENGTH + prelude.metadataLength;
  if (bytes.length < end) {
    throw new DbnError(
      'TRUNCATED_METADATA',
      `The file ends inside the metadata: ${prelude.metadataLength} bytes declared, ${Math.max(0, bytes.length - PRELUDE_LENGTH)} present`,
      bytes.length,
    );
  }
  const c = new MetadataCursor(bytes, PRELUDE_LENGTH, end);
  const v1 = prelude.version === 1;
  const dataset = c.cstr(16, 'the dataset');
  const schemaRaw = c.u16();
  const start = c.u64();
  const endTs = c.u64();
  const limit = c.u64();
  if (v1) c.skip(8); // deprecated record_count, not part of Databento's metadata JSON
  const stypeIn = c.u8();
  const stypeOut = c.u8();
  const tsOut = c.u8() !== 0;
  const symbolCstrLen = v1 ? 22 : c.u16();
  // Reserved padding fills the fixed part up to 100 bytes after the prelude.
  c.skip(PRELUDE_LENGTH + FIXED_METADATA_LENGTH - c.pos);
  const schemaDefinitionOffset = c.pos;
  const schemaDefinitionLength = c.u32();
  if (schemaDefinitionLength !== 0) {
    throw new DbnError(
      'SCHEMA_DEFINITION_UNSUPPORTED',
      `The metadata carries a ${schemaDefinitionLength}-byte schema definition, which DBN does not define yet; this file was not written by a DBN encoder booktape knows`,
      schemaDefinitionOffset,
    );
  }
  if (symbolCstrLen === 0) {
    throw new DbnError('BAD_METADATA', 'Metadata declares a symbol length of 0', PRELUDE_LENGTH + 45);
  }
  const symbolList = (what: string): string[] => {
    const n = c.count(symbolCstrLen, what);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(c.cstr(symbolCstrLen, what));
    return out;
  };
  const symbols = symbolList('symbols');
  const partial = symbolList('partial symbols');
  const notFound = symbolList('not-found symbols');
  const mappings: SymbolMapping[] = [];
  const mappingCount = c.count(symbolCstrLen + 4, 'symbol mappings');
  for (let i = 0; i < mappingCount; i++) {
    const raw = c.cstr(symbolCstrLen, 'a mapping raw symbol');
    const intervalCount = c.count(8 + symbolCstrLen, 'mapping intervals');
    const intervals: MappingInterval[] = [];
    for (let j = 0; j < intervalCount; j++) {
      const startDate = c.u32();
      const endDate = c.u32();
      intervals.push({ start_date: startDate, end_date: endDate, symbol: c.cstr(symbolCstrLen, 'a mapped symbol') });
    }
    mappings.push({ raw_symbol: raw, intervals });
  }
  return {
    version: prelude.version,
    dataset,
    schema: schemaRaw === SCHEMA_MIXED ? null : schemaRaw,
    start: start.toString(),
    end: endTs.toString(),
    limit: limit.toString(),
    stype_in: stypeIn === 0xff ? null : stypeIn,
    stype_out: stypeOut,
    ts_out: tsOut,
    symbol_cstr_len: symbolCstrLen,
    symbols,
    partial,
    not_found: notFound,
    mappings,
  };
}

/**
 * instrument_id -> raw symbol, from the mappings. An instrument mapped to
 * several symbols over time keeps the first; booktape labels books, it does
 * not resolve symbology by date.
 */
export function symbolsByInstrument(meta: Pick<Metadata, 'mappings'>): Map<number, string> {
  const out = new Map<number, string>();
  for (const m of meta.mappings) {
    for (const iv of m.intervals) {
      const id = Number(iv.symbol);
      if (Number.isInteger(id) && !out.has(id)) out.set(id, m.raw_symbol);
    }
  }
  return out;
}
