import type { Config } from '../config.js';
import { DuckDbStore } from './duckdb/store.js';
import type { SnapshotStore } from './port.js';
import { QuestDbStore } from './questdb/store.js';

export * from './port.js';

/** The store the configuration names: QuestDB when configured, else embedded DuckDB. */
export function openStore(config: Pick<Config, 'store' | 'duckdbPath' | 'duckdbMemory' | 'duckdbBookCacheMb' | 'questdbConf' | 'storeTimeoutMs' | 'questdbReadConnections'>): SnapshotStore {
  if (config.store === 'questdb') {
    return new QuestDbStore(config.questdbConf!, { timeoutMs: config.storeTimeoutMs, readConnections: config.questdbReadConnections });
  }
  return new DuckDbStore(config.duckdbPath, config.duckdbMemory, config.duckdbBookCacheMb * 2 ** 20);
}
