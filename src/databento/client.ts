import type { DatabentoRequest } from '../databento-request.js';
import { DatabentoError, redact, retryAfterMs, serviceMessage, statusFailure } from './errors.js';

/**
 * Databento's historical HTTP API (https://databento.com/docs/api-reference-historical),
 * the endpoints booktape uses: `metadata.get_cost`, `metadata.get_billable_size`,
 * `metadata.get_dataset_range` and `timeseries.get_range`. Every call
 * authenticates with HTTP basic auth, the API key as the user name and an
 * empty password; every answer other than a success is a DatabentoError
 * carrying the service's own message, with the key redacted from it.
 * See docs/databento.md for the contract and the tests that pin it.
 */

export interface DatabentoAccess {
  /** The API's base, e.g. https://hist.databento.com/v0/ (BOOKTAPE_DATABENTO_URL). */
  baseUrl: string;
  /** DATABENTO_API_KEY; unset: every call fails with DATABENTO_NO_KEY. */
  apiKey: string | undefined;
  /** The wait for an answer's headers (and, for metadata, its body). */
  timeoutMs: number;
}

/** What `metadata.get_dataset_range` answers: the available range, overall and per schema (ISO-8601). */
export interface DatasetRange {
  start: string;
  end: string;
  schema?: Record<string, { start: string; end: string }>;
}

/** The form fields every query of the request sends. */
function queryFields(r: DatabentoRequest): Record<string, string> {
  return { dataset: r.dataset, symbols: r.symbols.join(','), schema: r.schema, stype_in: r.stype_in, stype_out: 'instrument_id', start: r.start, end: r.end };
}

export class HistoricalClient {
  private readonly base: URL;

  constructor(private readonly access: DatabentoAccess) {
    this.base = new URL(access.baseUrl.endsWith('/') ? access.baseUrl : `${access.baseUrl}/`);
  }

  /** The cost of the request in US dollars. */
  async getCost(r: DatabentoRequest, signal?: AbortSignal): Promise<number> {
    return this.number('metadata.get_cost', await this.json('POST', 'metadata.get_cost', queryFields(r), signal));
  }

  /** The request's billable size: its uncompressed DBN bytes. */
  async getBillableSize(r: DatabentoRequest, signal?: AbortSignal): Promise<number> {
    return this.number('metadata.get_billable_size', await this.json('POST', 'metadata.get_billable_size', queryFields(r), signal));
  }

  async getDatasetRange(dataset: string, signal?: AbortSignal): Promise<DatasetRange> {
    const body = await this.json('GET', 'metadata.get_dataset_range', { dataset }, signal) as Partial<DatasetRange> | null;
    if (typeof body?.start !== 'string' || typeof body.end !== 'string') throw this.unexpected('metadata.get_dataset_range', JSON.stringify(body));
    return body as DatasetRange;
  }

  /**
   * Starts the download of the request's records as DBN, zstd-compressed:
   * the answer once its status says success, its body left to the caller to
   * stream. `signal` aborts the wait and the body (the caller's stall timer).
   */
  async getRange(r: DatabentoRequest, signal: AbortSignal): Promise<Response> {
    return this.call('POST', 'timeseries.get_range', { ...queryFields(r), encoding: 'dbn', compression: 'zstd' }, signal);
  }

  /** Where the API is, for messages: never with credentials. */
  get where(): string {
    return this.base.origin;
  }

  private async json(method: 'GET' | 'POST', path: string, fields: Record<string, string>, signal?: AbortSignal): Promise<unknown> {
    const timeout = AbortSignal.timeout(this.access.timeoutMs);
    const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const res = await this.call(method, path, fields, both);
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw this.unreachable(path, err, both);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw this.unexpected(path, text);
    }
  }

  private async call(method: 'GET' | 'POST', path: string, fields: Record<string, string>, signal: AbortSignal): Promise<Response> {
    const key = this.access.apiKey;
    if (!key) throw new DatabentoError('DATABENTO_NO_KEY', 'invalid', 'Databento needs an API key: set DATABENTO_API_KEY (your key from databento.com/portal/keys) where booktape runs');
    const url = new URL(path, this.base);
    const form = new URLSearchParams(fields);
    if (method === 'GET') url.search = form.toString();
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`, accept: 'application/json', 'user-agent': 'booktape' },
        ...(method === 'POST' ? { body: form } : {}),
        // A redirect is not followed: the key goes to Databento's own address only.
        redirect: 'manual',
        signal,
      });
    } catch (err) {
      throw this.unreachable(path, err, signal);
    }
    if (res.status >= 200 && res.status < 300 && res.body !== null) return res;
    const body = await res.text().catch(() => '');
    const { code, kind } = statusFailure(res.status);
    const wait = retryAfterMs(res.headers.get('retry-after'));
    const said = body ? `: ${serviceMessage(body)}` : '';
    const message = `Databento answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''} to ${path}${said}${hint(code, wait)}`;
    throw new DatabentoError(code, kind, redact(message, key), res.status, wait);
  }

  private unreachable(path: string, err: unknown, signal: AbortSignal): DatabentoError {
    if (err instanceof DatabentoError) return err;
    const reason = signal.aborted
      ? `no answer within ${this.access.timeoutMs} ms (BOOKTAPE_URL_TIMEOUT_MS)`
      : String((err as { cause?: { code?: string; message?: string } })?.cause?.code ?? (err as Error)?.message ?? err);
    return new DatabentoError('DATABENTO_UNAVAILABLE', 'unavailable', redact(`cannot reach Databento at ${this.where} for ${path}: ${reason}`, this.access.apiKey));
  }

  private unexpected(path: string, body: string): DatabentoError {
    return new DatabentoError('DATABENTO_UNAVAILABLE', 'unavailable', redact(`Databento's answer to ${path} is not what its API documents: ${body.slice(0, 200)}`, this.access.apiKey));
  }

  private number(path: string, body: unknown): number {
    if (typeof body !== 'number' || !Number.isFinite(body) || body < 0) throw this.unexpected(path, JSON.stringify(body));
    return body;
  }
}

/** What the user can do about it, where there is something to say. */
function hint(code: string, waitMs: number | undefined): string {
  if (code === 'DATABENTO_AUTH_REFUSED') return '; check DATABENTO_API_KEY and the key\'s permissions at databento.com/portal/keys';
  return waitMs !== undefined ? ` (Retry-After: ${Math.ceil(waitMs / 1000)} s)` : '';
}
