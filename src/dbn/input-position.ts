/**
 * How far a reader has got, in input bytes (compressed ones for zstd): the
 * input behind the output handed on so far. A job's percent is this over the
 * input's size. Bytes read from the source are no measure: reading runs
 * chunks ahead of decoding, and for zstd a few compressed megabytes are a
 * large part of a file (a job said 99% a third of the way through).
 */
export class InputPosition {
  bytes = 0;
}
