export * from './constants.js';
export * from './errors.js';
export * from './framing.js';
export * from './mbo.js';
export * from './metadata.js';
export * from './reader.js';
export { isZstd } from './zstd.js';
export * from "./encode.js";
