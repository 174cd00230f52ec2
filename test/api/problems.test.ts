import type { Server as HttpServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { createMetrics } from '../../src/api/metrics.js';
import { loadConfig } from '../../src/config.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import type { SnapshotStore } from '../../src/store/port.js';
import { ActiveReads } from '../../src/stream/active-reads.js';

/** Every failure answers problem+json with the status its kind gives (FAILURE_KINDS). */

const TOKEN = 'a-write-token-of-16+';
const store = new DuckDbStore(':memory:');
/** The store, but listing instruments fails as a driver's socket would: with Node's own ECONNREFUSED. */
const refusing: SnapshotStore = Object.create(store, {
  listInstruments: {
    value: () => new Promise((_, reject) => connect(1, '127.0.0.1').on('error', reject)),
  },
});
let http: HttpServer;
let base: string;

beforeAll(async () => {
  await store.init();
  const app = createApp({
    config: { ...loadConfig({}), writeToken: TOKEN, readToken: undefined },
    store: refusing, jobs: null, metrics: createMetrics(null), log: pino({ level: 'silent' }), reads: new ActiveReads(),
  });
  http = await new Promise<HttpServer>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  http?.close();
  await store.close();
});

const post = (body: string, type = 'application/json') =>
  fetch(`${base}/v1/ingest`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': type }, body });

async function problem(res: Response): Promise<{ status: number; code: string; type: string | null }> {
  const body = (await res.json()) as { status: number; code: string };
  expect(body.status).toBe(res.status);
  return { status: res.status, code: body.code, type: res.headers.get('content-type') };
}

describe('problem+json for failures of the request body and of dependencies', () => {
  it('a body over 16 kB is a 413, not an internal error', async () => {
    expect(await problem(await post(JSON.stringify({ source: 'x'.repeat(20_000) })))).toEqual({ status: 413, code: 'BODY_TOO_LARGE', type: 'application/problem+json; charset=utf-8' });
  });

  it('a body in a charset the server does not read is a 415', async () => {
    expect(await problem(await post('{"source":"x"}', 'application/json; charset=latin1'))).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  it('a body that is not JSON is a 400 INVALID_JSON', async () => {
    expect(await problem(await post('{"source":'))).toMatchObject({ status: 400, code: 'INVALID_JSON' });
  });

  it("a dependency's refused connection (Node's ECONNREFUSED) is a 503 to retry, not a 500", async () => {
    const p = await problem(await fetch(`${base}/v1/instruments`));
    expect(p).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
  });
});
