import { databentoSource, parseDatabentoSource, type DatabentoRequest } from '../databento-request.js';
import { HistoricalClient } from '../databento/client.js';
import { DatabentoError } from '../databento/errors.js';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { StallTimer, downloadOf, keptCopy, type OpenedSource } from './download.js';
import type { SourcePolicy } from './source.js';

/**
 * A Databento request as a pipeline source: first a quote (the cost guard,
 * on the main thread, before anything is bought), then the download, which
 * streams into the decoder like any other source, under the same stall
 * timeout and size limit.
 */

export interface DatabentoPolicy {
  /** BOOKTAPE_DATABENTO_URL. */
  baseUrl: string;
  /** DATABENTO_API_KEY. */
  apiKey: string | undefined;
  /** BOOKTAPE_DATABENTO_MAX_COST_USD: a request quoted above it is refused. */
  maxCostUsd: number;
  /** BOOKTAPE_DATABENTO_KEEP_DIR: where to keep a copy of each download; unset: none. */
  keepDir?: string;
}

/** What the service quoted for a request before its download. */
export interface Quote {
  costUsd: number;
  /** Uncompressed DBN bytes: about 56 per MBO record. */
  billableBytes: number;
}

function clientOf(policy: SourcePolicy): HistoricalClient {
  const d = policy.databento;
  return new HistoricalClient({ baseUrl: d?.baseUrl ?? 'https://hist.databento.com/v0/', apiKey: d?.apiKey, timeoutMs: policy.timeoutMs });
}

/** A request in a line: what a message about it names. */
export function describeRequest(r: DatabentoRequest): string {
  const symbols = r.symbols.length <= 3 ? r.symbols.join(',') : `${r.symbols.slice(0, 3).join(',')} and ${r.symbols.length - 3} more`;
  return `${r.dataset} ${r.schema} ${symbols} (${r.stype_in}) [${r.start}, ${r.end})`;
}

/** Asks the service what the request costs and how big it is. */
export async function quoteDatabento(source: string, policy: SourcePolicy): Promise<Quote> {
  const request = parseDatabentoSource(source);
  const client = clientOf(policy);
  const [billableBytes, costUsd] = await Promise.all([client.getBillableSize(request), client.getCost(request)]);
  return { costUsd, billableBytes };
}

/**
 * The cost guard: refuses a request that holds no data (DATABENTO_NO_DATA)
 * or that costs more than the limit (DATABENTO_COST_LIMIT), before a byte of
 * it is bought.
 */
export function refuseOverLimit(source: string, quote: Quote, policy: SourcePolicy): void {
  const request = parseDatabentoSource(source);
  if (quote.billableBytes === 0) {
    throw new DatabentoError('DATABENTO_NO_DATA', 'not-found',
      `Databento has no data for ${describeRequest(request)} (billable size 0): no trading in that range, or symbols that did not trade then`);
  }
  const limit = policy.databento?.maxCostUsd ?? 0;
  if (quote.costUsd > limit) {
    throw new DatabentoError('DATABENTO_COST_LIMIT', 'invalid',
      `${describeRequest(request)} would cost $${quote.costUsd.toFixed(2)} (${(quote.billableBytes / 1e9).toFixed(2)} GB billable), over BOOKTAPE_DATABENTO_MAX_COST_USD=${limit}: raise the setting, or ask for fewer symbols or days`);
  }
}

/** Starts the download of a request's DBN (zstd) and hands its body on as it arrives. */
export async function openDatabento(source: string, policy: SourcePolicy): Promise<OpenedSource> {
  const request = parseDatabentoSource(source);
  const client = clientOf(policy);
  const stall = new StallTimer(policy.timeoutMs);
  let res: Response;
  try {
    res = await client.getRange(request, stall.signal);
  } catch (err) {
    stall.clear();
    throw err;
  }
  const name = databentoSource(request);
  const opened = await downloadOf(res, name, client.where, stall, policy.maxBytes);
  const keepDir = policy.databento?.keepDir;
  return keepDir === undefined ? opened : { ...opened, chunks: keptCopy(opened.chunks, join(keepDir, copyName(request, name))) };
}

/**
 * The file name of a kept download: dataset, range and a hash of the whole
 * request (its symbols may be many), e.g.
 * `GLBX.MDP3_2024-06-03T00-00-00Z_2024-06-04T00-00-00Z_1a2b3c4d.mbo.dbn.zst`.
 */
export function copyName(r: DatabentoRequest, source: string): string {
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 8);
  return `${r.dataset}_${r.start}_${r.end}_${hash}.${r.schema}.dbn.zst`.replace(/:/g, '-');
}
