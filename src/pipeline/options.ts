import type { Config } from '../config.js';
import type { SnapshotPolicy } from '../book/market.js';
import type { SnapshotStore } from '../store/port.js';
import type { IngestOptions } from './ingest.js';
import type { EnqueuePolicy, SourcePolicy } from './source.js';

/** The pipeline's options from the configuration: the same for jobs, `booktape ingest` and the demo. */

export function sourcePolicy(config: Config): SourcePolicy {
  return {
    dataRoots: config.dataRoots,
    allowHosts: config.url.allowHosts,
    maxBytes: config.url.maxBytes,
    timeoutMs: config.url.timeoutMs,
    maxRedirects: config.url.maxRedirects,
    databento: {
      baseUrl: config.databento.baseUrl, apiKey: config.databento.apiKey, maxCostUsd: config.databento.maxCostUsd,
      ...(config.databento.keepDir !== undefined ? { keepDir: config.databento.keepDir } : {}),
    },
  };
}

/** What is checked of a source where it is queued (the API, `enqueue`), before any worker sees it. */
export function enqueuePolicy(config: Pick<Config, 'dataRoots' | 'url' | 'sourceCheck'>): EnqueuePolicy {
  return { dataRoots: config.dataRoots, allowHosts: config.url.allowHosts, check: config.sourceCheck };
}

export function snapshotPolicy(config: Config): SnapshotPolicy {
  return {
    depth: config.depth, intervalNs: config.snapshotEveryNs,
    ...(config.storeMbo ? { l3: { everyNs: config.checkpointEveryNs, events: config.checkpointEvents } } : {}),
  };
}

export function ingestOptions(config: Config, store: SnapshotStore): IngestOptions {
  return {
    store, sourcePolicy: sourcePolicy(config), snapshotPolicy: snapshotPolicy(config),
    batchRows: config.writeBatchRows, engineHeapMb: config.engineHeapMb,
  };
}

