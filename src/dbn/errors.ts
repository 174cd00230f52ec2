import { BooktapeError } from '../errors.js';

/**
 * Every way a DBN input can be wrong. Each code has a stable name so callers
 * (CLI exit paths, job failure reasons, API problem+json) can branch on it.
 */
export type DbnErrorCode =
  | 'EMPTY_INPUT'
  | 'BAD_MAGIC'
  | 'UNSUPPORTED_VERSION'
  | 'TRUNCATED_METADATA'
  | 'METADATA_TOO_SHORT'
  | 'BAD_METADATA'
  | 'SCHEMA_DEFINITION_UNSUPPORTED'
  | 'RECORD_TOO_SHORT'
  | 'BAD_RECORD_LENGTH'
  | 'TRUNCATED_RECORD'
  | 'ZSTD_CORRUPT'
  | 'NOT_MBO';

/**
 * A decoding failure. `offset` is the byte offset in the decoded (decompressed)
 * DBN stream where the problem was found, so a user can inspect it with `xxd -s`.
 */
export class DbnError extends BooktapeError {
  override readonly name = 'DbnError';
  declare readonly code: DbnErrorCode;
  constructor(
    code: DbnErrorCode,
    message: string,
    readonly offset: number,
  ) {
    super(code, 'invalid', `${message} (at byte ${offset})`);
  }
}

export function isDbnError(err: unknown): err is DbnError {
  return err instanceof DbnError;
}
