import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPIV3 } from 'openapi-types';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { createMetrics } from '../../src/api/metrics.js';
import { loadConfig } from '../../src/config.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import { StreamSlots } from '../../src/stream/stream-slots.js';
import { ActiveReads } from '../../src/stream/active-reads.js';

/** Every route the app answers, as "METHOD /openapi/{path}", read from Express's own router. */
function expressRoutes(app: { router: { stack: Layer[] } }): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) out.push(`${method.toUpperCase()} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk(app.router.stack);
  return out;
}
interface Layer { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } }

const store = new DuckDbStore(':memory:');
const app = createApp({
  config: { ...loadConfig({}), writeToken: undefined, readToken: undefined },
  store, jobs: null, metrics: createMetrics(null), log: pino({ level: 'silent' }), reads: new ActiveReads(), slots: new StreamSlots(8),
});
let http: HttpServer;
let doc: OpenAPIV3.Document;

beforeAll(async () => {
  await store.init();
  http = await new Promise<HttpServer>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
  const res = await fetch(`http://127.0.0.1:${(http.address() as AddressInfo).port}/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as OpenAPIV3.Document;
});
afterAll(async () => {
  http?.close();
  await store.close();
});

describe('the served OpenAPI document', () => {
  it('is valid OpenAPI 3 (swagger-parser)', async () => {
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
  });

  it('the validator rejects what the old document had: a description split into a key', async () => {
    const broken = structuredClone(doc);
    (broken.paths['/v1/books/{symbol}']!.get!.responses['404'] as unknown as Record<string, unknown>).Unknown = 'symbol';
    await expect(SwaggerParser.validate(broken as never)).rejects.toThrow(/additional properties/);
  });

  it('describes every route Express answers, and nothing it does not', () => {
    const routes = expressRoutes(app as unknown as { router: { stack: Layer[] } });
    expect(routes.length).toBeGreaterThanOrEqual(10);
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item!).filter((k) => ['get', 'post', 'put', 'patch', 'delete'].includes(k)).map((m) => `${m.toUpperCase()} ${path}`));
    // Bull Board and Swagger UI are mounted apps, not routes: documented as pages.
    expect(routes.filter((r) => !documented.includes(r))).toEqual([]);
    expect(documented.filter((r) => !routes.includes(r) && r !== 'GET /admin/queues' && r !== 'GET /docs')).toEqual([]);
    for (const r of ['GET /healthz', 'GET /readyz', 'GET /metrics', 'POST /v1/ingest']) expect(documented).toContain(r);
  });

  it('tags every operation with its route group, and answers errors as Problem', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const op of Object.values(item!) as OpenAPIV3.OperationObject[]) {
        expect(op.tags?.length, path).toBe(1);
        expect(op.tags![0], path).not.toBe('default');
        for (const [status, r] of Object.entries(op.responses)) {
          if (Number(status) >= 400 && path !== '/readyz') {
            expect((r as OpenAPIV3.ResponseObject).content?.['application/problem+json'], `${path} ${status}`).toEqual({ schema: { $ref: '#/components/schemas/Problem' } });
          }
        }
      }
    }
    expect(doc.components?.schemas?.Problem).toMatchObject({ type: 'object', required: expect.arrayContaining(['code', 'detail', 'status']) });
  });

  it('takes parameters from the zod schemas the routes validate with', () => {
    const exportOp = doc.paths['/v1/books/{symbol}/snapshots']!.get!;
    const params = Object.fromEntries((exportOp.parameters as OpenAPIV3.ParameterObject[]).map((p) => [`${p.in}:${p.name}`, p.schema]));
    expect(Object.keys(params).sort()).toEqual(['path:symbol', 'query:after', 'query:depth', 'query:format', 'query:from', 'query:limit', 'query:publisher_id', 'query:to']);
    expect(params['query:format']).toMatchObject({ enum: ['json', 'ndjson', 'csv', 'dbn'], default: 'ndjson' });
    expect(params['query:depth']).toMatchObject({ type: 'integer', minimum: 1, maximum: 50, default: 10 });
    expect(Object.keys(exportOp.responses['200'] && (exportOp.responses['200'] as OpenAPIV3.ResponseObject).content!)).toEqual(['application/json', 'application/x-ndjson', 'text/csv', 'application/octet-stream']);
    const ingest = doc.paths['/v1/ingest']!.post!;
    expect(Object.keys(ingest.responses).sort()).toEqual(['202', '400', '401', '403', '413', '415', '500', '503']);
    const ingestBody = (ingest.requestBody as OpenAPIV3.RequestBodyObject).content['application/json'].schema as OpenAPIV3.SchemaObject;
    expect(ingestBody).toMatchObject({ additionalProperties: false, properties: { source: { type: 'string' }, databento: { type: 'object', required: ['dataset', 'symbols', 'start', 'end'] } } });
    // A job's progress is an object in every state, its four fields always there.
    const job = (doc.paths['/v1/jobs/{id}']!.get!.responses['200'] as OpenAPIV3.ResponseObject).content!['application/json'].schema as OpenAPIV3.SchemaObject;
    const progress = job.properties!.progress as OpenAPIV3.SchemaObject;
    expect(progress).toMatchObject({ type: 'object', required: ['records', 'bytes', 'total_bytes', 'percent'] });
    expect(job.required).toContain('progress');
    expect(Object.keys(doc.paths['/v1/replay']!.get!.responses['200'] && (doc.paths['/v1/replay']!.get!.responses['200'] as OpenAPIV3.ResponseObject).content!)).toEqual(['application/x-ndjson', 'application/octet-stream']);
  });
});
