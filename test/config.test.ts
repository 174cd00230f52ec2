import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { snapshotPolicy } from '../src/pipeline/options.js';

/** What loadConfig throws for `env`, or null. */
function thrownBy(env: NodeJS.ProcessEnv): unknown {
  try {
    loadConfig(env);
  } catch (err) {
    return err;
  }
  return null;
}

describe('configuration', () => {
  it('defaults work with an empty environment', () => {
    const c = loadConfig({});
    expect(c.store).toBe('duckdb');
    expect(c.writeBatchRows).toBe(8192);
    expect(loadConfig({ BOOKTAPE_WRITE_BATCH_ROWS: '4096' }).writeBatchRows).toBe(4096);
    // QuestDB: larger batches, as one WAL transaction each (64 MiB requests).
    const q = loadConfig({ QDB_CLIENT_CONF: 'http::addr=localhost:9000;' });
    expect([q.writeBatchRows, q.questdbRequestBytes]).toEqual([65_536, 64 * 2 ** 20]);
    expect(loadConfig({ QDB_CLIENT_CONF: 'http::addr=localhost:9000;', BOOKTAPE_WRITE_BATCH_ROWS: '4096' }).writeBatchRows).toBe(4096);
    expect(c.duckdbBookCacheMb).toBe(256);
    expect(loadConfig({ BOOKTAPE_DUCKDB_BOOK_CACHE_MB: '0' }).duckdbBookCacheMb).toBe(0);
  });

  it('MBO events and L3 checkpoints are stored unless BOOKTAPE_STORE_MBO=false; the ingest policy follows', () => {
    expect(snapshotPolicy(loadConfig({}))).toEqual({ depth: 10, intervalNs: 0, l3: { everyNs: 60e9, events: 1000 } });
    expect(snapshotPolicy(loadConfig({ BOOKTAPE_CHECKPOINT_EVERY: '10s', BOOKTAPE_CHECKPOINT_EVENTS: '500' })).l3).toEqual({ everyNs: 10e9, events: 500 });
    expect(snapshotPolicy(loadConfig({ BOOKTAPE_STORE_MBO: 'false' }))).toEqual({ depth: 10, intervalNs: 0 });
  });

  it('a bad setting is a BAD_CONFIG error naming the setting', () => {
    for (const [name, value] of [['BOOKTAPE_WRITE_BATCH_ROWS', '0'], ['BOOKTAPE_WRITE_BATCH_ROWS', 'many'], ['BOOKTAPE_DEPTH', '51'],
      ['BOOKTAPE_SNAPSHOT_EVERY', 'soon'], ['BOOKTAPE_DUCKDB_MEMORY', 'lots'], ['BOOKTAPE_WRITE_TOKEN', 'short'], ['BOOKTAPE_METRICS_PORT', 'x'], ['BOOKTAPE_METRICS_PORT', '70000'],
      ['BOOKTAPE_ENGINE_HEAP_MB', '8'], ['BOOKTAPE_ENGINE_HEAP_MB', '1.5'], ['BOOKTAPE_DUCKDB_BOOK_CACHE_MB', '-1'], ['BOOKTAPE_DUCKDB_BOOK_CACHE_MB', 'big'],
      ['BOOKTAPE_SCAN_URLS', 'https://not-allowed.example/a.dbn'], ['BOOKTAPE_SCAN_URLS', '/a/path.dbn'], ['BOOKTAPE_SCAN_URLS', 'databento:GLBX.MDP3/mbo?symbols=ES'],
      ['BOOKTAPE_DATABENTO_URL', 'ftp://hist.example/v0/'], ['BOOKTAPE_DATABENTO_URL', 'https://db-key:@hist.databento.com/v0/'], ['BOOKTAPE_DATABENTO_URL', 'nope'],
      ['BOOKTAPE_DATABENTO_MAX_COST_USD', '-1'], ['BOOKTAPE_DATABENTO_MAX_COST_USD', 'cheap'], ['BOOKTAPE_DATABENTO_STYPE_IN', 'isin'],
      ['BOOKTAPE_DATABENTO_DATASET', 'GLBX'], ['BOOKTAPE_DATABENTO_DAYS', '0'], ['BOOKTAPE_DATABENTO_CRON', '0 2 * * 2-6'],
      ['BOOKTAPE_STORE_MBO', 'yes'], ['BOOKTAPE_CHECKPOINT_EVERY', 'often'], ['BOOKTAPE_CHECKPOINT_EVENTS', '0']]) {
      const err = thrownBy({ [name]: value });
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).code).toBe('BAD_CONFIG');
      expect((err as ConfigError).message).toContain(name);
    }
  });

  it('Databento: a schedule needs what to fetch and the key; a databento: request may be scanned; the key is kept for the workers', () => {
    const schedule = { BOOKTAPE_DATABENTO_CRON: '0 2 * * 2-6', BOOKTAPE_DATABENTO_DATASET: 'GLBX.MDP3', BOOKTAPE_DATABENTO_SYMBOLS: 'ES.FUT,NQ.FUT', BOOKTAPE_DATABENTO_STYPE_IN: 'parent' };
    expect((thrownBy(schedule) as ConfigError).message).toContain('BOOKTAPE_DATABENTO_CRON needs DATABENTO_API_KEY');
    expect((thrownBy({ ...schedule, DATABENTO_API_KEY: 'db-x', BOOKTAPE_DATABENTO_SYMBOLS: 'ES.FUT,' + 'X'.repeat(80) }) as ConfigError).message).toContain('BOOKTAPE_DATABENTO_SYMBOLS');
    const c = loadConfig({ ...schedule, DATABENTO_API_KEY: 'db-x', BOOKTAPE_SCAN_URLS: 'databento:GLBX.MDP3/mbo?symbols=ES.FUT&start=2024-06-03&end=2024-06-04' });
    expect(c.databento).toEqual({
      apiKey: 'db-x', baseUrl: 'https://hist.databento.com/v0/', maxCostUsd: 10, cron: '0 2 * * 2-6', days: 1,
      request: { dataset: 'GLBX.MDP3', symbols: ['ES.FUT', 'NQ.FUT'], stype_in: 'parent' },
    });
    expect(loadConfig({}).databento).toMatchObject({ apiKey: undefined, request: null, cron: undefined });
  });

  it('an empty token means none (NAME= in .env, ${NAME:-} in compose); a set one is kept', () => {
    const empty = loadConfig({ BOOKTAPE_WRITE_TOKEN: '', BOOKTAPE_READ_TOKEN: '' });
    expect(empty.writeToken).toBeUndefined();
    expect(empty.readToken).toBeUndefined();
    const set = loadConfig({ BOOKTAPE_WRITE_TOKEN: 'a-write-token-of-16+', BOOKTAPE_READ_TOKEN: 'r' });
    expect(set.writeToken).toBe('a-write-token-of-16+');
    expect(set.readToken).toBe('r');
  });

  it('the worker metrics port is off unless set', () => {
    expect(loadConfig({}).metricsPort).toBeUndefined();
    expect(loadConfig({ BOOKTAPE_METRICS_PORT: '' }).metricsPort).toBeUndefined();
    expect(loadConfig({ BOOKTAPE_METRICS_PORT: '9464' }).metricsPort).toBe(9464);
  });

  it('scanned URLs must be http(s) on an allowed host', () => {
    expect(loadConfig({ BOOKTAPE_SCAN_URLS: 'https://data.example/a.dbn', BOOKTAPE_URL_ALLOW_HOSTS: 'data.example' }).scanUrls).toEqual(['https://data.example/a.dbn']);
    const err = thrownBy({ BOOKTAPE_SCAN_URLS: 'https://other.example/a.dbn', BOOKTAPE_URL_ALLOW_HOSTS: 'data.example' });
    expect((err as Error | null)?.message).toContain('BOOKTAPE_URL_ALLOW_HOSTS');
  });

  it('the engine heap limit is Node\'s default unless set', () => {
    expect(loadConfig({}).engineHeapMb).toBeUndefined();
    expect(loadConfig({ BOOKTAPE_ENGINE_HEAP_MB: '' }).engineHeapMb).toBeUndefined();
    expect(loadConfig({ BOOKTAPE_ENGINE_HEAP_MB: '2048' }).engineHeapMb).toBe(2048);
  });
});
