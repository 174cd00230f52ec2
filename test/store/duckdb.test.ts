import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import { StoreError } from '../../src/store/port.js';
import { storeContract } from './contract.js';

describe('DuckDB store: the contract', () => {
  storeContract(async () => {
    const store = new DuckDbStore(join(mkdtempSync(join(tmpdir(), 'booktape-duck-')), 'store.duckdb'));
    await store.init();
    return store;
  });
});

describe('DuckDB store: errors', () => {
  it('an unusable path is a STORE_UNAVAILABLE error that says why', async () => {
    // The parent "directory" is a regular file.
    const file = join(mkdtempSync(join(tmpdir(), 'booktape-duck-')), 'plain-file');
    writeFileSync(file, 'x');
    const path = join(file, 'store.duckdb');
    const err = await new DuckDbStore(path).init().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('STORE_UNAVAILABLE');
    expect((err as StoreError).message).toContain(path);
  });
});
