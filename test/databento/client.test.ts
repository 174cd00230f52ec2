import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoricalClient } from '../../src/databento/client.js';
import { DatabentoError, retryAfterMs } from '../../src/databento/errors.js';
import { dayRequest } from '../../src/databento-request.js';
import { CLX5 } from '../helpers.js';
import { archiveOf, startFakeDatabento, type FakeDatabento } from './service.js';

/**
 * The Databento client against a local service that follows the documented
 * contract (test/databento/service.ts; docs/databento.md says which
 * documented behaviour each case pins).
 */
const KEY = 'db-TestKeyThatMustNeverBeShown0001';
let service: FakeDatabento;
const clx5Day = dayRequest({ dataset: 'GLBX.MDP3', symbols: ['CLX5'], stype_in: 'raw_symbol' }, '2025-09-24');

beforeAll(async () => {
  service = await startFakeDatabento({ key: KEY, archive: archiveOf(CLX5) });
});
afterAll(async () => service?.close());

const client = (over: { apiKey?: string | undefined; baseUrl?: string; timeoutMs?: number } = {}) =>
  new HistoricalClient({ baseUrl: service.url, apiKey: KEY, timeoutMs: 2000, ...over });

async function failure(p: Promise<unknown>): Promise<DatabentoError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(DatabentoError);
  expect((err as Error).message).not.toContain(KEY);
  return err as DatabentoError;
}

describe('Databento historical client', () => {
  it('metadata: cost in US dollars and billable bytes of the request, asked with basic auth (key as user name)', async () => {
    const before = service.requests.length;
    const bytes = await client().getBillableSize(clx5Day);
    expect(bytes).toBe(38_212 * 56); // every CLX5 record is MBO, 56 bytes
    expect(await client().getCost(clx5Day)).toBeCloseTo((bytes / 1e9) * service.pricePerGb, 9);
    const sent = service.requests.slice(before);
    expect(sent.map((r) => [r.method, r.path, r.user])).toEqual([
      ['POST', 'metadata.get_billable_size', KEY], ['POST', 'metadata.get_cost', KEY],
    ]);
    expect(sent[0].fields).toEqual({
      dataset: 'GLBX.MDP3', symbols: 'CLX5', schema: 'mbo', stype_in: 'raw_symbol', stype_out: 'instrument_id',
      start: '2025-09-24T00:00:00Z', end: '2025-09-25T00:00:00Z',
    });
    const range = await client().getDatasetRange('GLBX.MDP3');
    expect(range).toMatchObject({ start: '2025-09-24T00:00:00.000Z', end: '2025-09-25T00:00:00.000Z', schema: { mbo: { end: '2025-09-25T00:00:00.000Z' } } });
    expect(service.requests.at(-1)).toMatchObject({ method: 'GET', path: 'metadata.get_dataset_range', fields: { dataset: 'GLBX.MDP3' } });
  });

  it('get_range: a POST of form fields asking for DBN with zstd; the answer streams', async () => {
    const res = await client().getRange(clx5Day, AbortSignal.timeout(5000));
    expect(res.status).toBe(200);
    expect(service.requests.at(-1)).toMatchObject({ method: 'POST', path: 'timeseries.get_range', fields: { encoding: 'dbn', compression: 'zstd', schema: 'mbo' } });
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.readUInt32LE(0)).toBe(0xfd2fb528); // a zstd frame
  });

  it('refused credentials: 401 DATABENTO_AUTH_REFUSED, for good, with the service\'s message and the key redacted', async () => {
    const wrong = 'db-WrongKeyAlsoSecret0000000000002';
    const e = await failure(client({ apiKey: wrong }).getCost(clx5Day));
    expect(e).toMatchObject({ code: 'DATABENTO_AUTH_REFUSED', kind: 'unauthorized', status: 401 });
    expect(e.traits.retryable).toBe(false);
    expect(e.message).toContain('Invalid username or API key: [redacted]');
    expect(e.message).not.toContain(wrong);
    expect(e.message).toMatch(/DATABENTO_API_KEY/);
    service.script('metadata.get_cost', { status: 403, body: { detail: 'This key may not access GLBX.MDP3' } });
    expect(await failure(client().getCost(clx5Day))).toMatchObject({ code: 'DATABENTO_AUTH_REFUSED', kind: 'forbidden', status: 403 });
  });

  it('no key: DATABENTO_NO_KEY, nothing sent', async () => {
    const before = service.requests.length;
    const e = await failure(client({ apiKey: undefined }).getBillableSize(clx5Day));
    expect(e).toMatchObject({ code: 'DATABENTO_NO_KEY', kind: 'invalid' });
    expect(e.message).toContain('DATABENTO_API_KEY');
    expect(service.requests.length).toBe(before);
  });

  it('a symbol that does not resolve: 422 DATABENTO_BAD_REQUEST with the service\'s case and message', async () => {
    const bad = dayRequest({ dataset: 'GLBX.MDP3', symbols: ['NOPE5'], stype_in: 'raw_symbol' }, '2025-09-24');
    const e = await failure(client().getRange(bad, AbortSignal.timeout(5000)));
    expect(e).toMatchObject({ code: 'DATABENTO_BAD_REQUEST', kind: 'invalid', status: 422 });
    expect(e.message).toContain('symbology_invalid_request: None of the symbols could be resolved');
    service.script('metadata.get_cost', { status: 422, body: { detail: [{ loc: ['body', 'start'], msg: 'invalid datetime' }] } });
    expect((await failure(client().getCost(clx5Day))).message).toContain('body.start: invalid datetime');
    service.script('timeseries.get_range', { status: 404, body: { detail: 'symbol does not exist' } });
    expect(await failure(client().getRange(clx5Day, AbortSignal.timeout(5000)))).toMatchObject({ code: 'DATABENTO_NOT_FOUND', kind: 'not-found' });
  });

  it('rate limited and outages: retryable, with the wait Retry-After asks for', async () => {
    service.script('timeseries.get_range', { status: 429, body: { detail: 'Too many requests' }, headers: { 'retry-after': '7' } });
    const limited = await failure(client().getRange(clx5Day, AbortSignal.timeout(5000)));
    expect(limited).toMatchObject({ code: 'DATABENTO_RATE_LIMITED', kind: 'unavailable', status: 429, retryAfterMs: 7000 });
    expect(limited.traits.retryable).toBe(true);
    expect(limited.message).toContain('Too many requests');
    const later = new Date(Date.now() + 30_000).toUTCString();
    service.script('metadata.get_cost', { status: 503, body: { detail: 'Data gateway is offline' }, headers: { 'retry-after': later } });
    const down = await failure(client().getCost(clx5Day));
    expect(down).toMatchObject({ code: 'DATABENTO_UNAVAILABLE', kind: 'unavailable', status: 503 });
    expect(down.retryAfterMs).toBeGreaterThan(25_000);
    service.script('metadata.get_cost', { status: 504, text: '<html>Gateway Timeout</html>' });
    expect(await failure(client().getCost(clx5Day))).toMatchObject({ code: 'DATABENTO_UNAVAILABLE', status: 504, message: expect.stringContaining('Gateway Timeout') });
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });

  it('no answer in time, or nobody listening: DATABENTO_UNAVAILABLE in bounded time', async () => {
    service.script('metadata.get_cost', { hang: true });
    const started = Date.now();
    const silent = await failure(client({ timeoutMs: 300 }).getCost(clx5Day));
    expect(silent).toMatchObject({ code: 'DATABENTO_UNAVAILABLE', message: expect.stringContaining('no answer within 300 ms') });
    expect(Date.now() - started).toBeLessThan(3000);
    const closed = await new Promise<number>((r) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => r(p)); }); });
    const refused = await failure(client({ baseUrl: `http://127.0.0.1:${closed}/v0/` }).getCost(clx5Day));
    expect(refused).toMatchObject({ code: 'DATABENTO_UNAVAILABLE', message: expect.stringContaining('ECONNREFUSED') });
  });
});
