import type { Config } from '../config.js';
import type { SnapshotPolicy } from '../book/market.js';
import type { SnapshotStore } from '../store/port.js';
import type { IngestOptions } from './ingest.js';
import type { SourcePolicy } from './source.js';

/** The pipeline's options from the configuration: the same for jobs, `booktape ingest` and the demo. */

export function sourcePolicy(config: Config): SourcePolicy {
  return {
    dataRoots: config.dataRoots,
    allowHosts: config.url.allowHosts,
    maxBytes: config.url.maxBytes,
    timeoutMs: config.url.timeoutMs,
    maxRedirects: config.url.maxRedirects,
  };
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

