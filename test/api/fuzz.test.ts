import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLX5 } from '../helpers.js';
import { httpRequest, rawRequest, type RawResponse } from './raw-http.js';
import { READ_TOKEN, WRITE_TOKEN, serve, type Served } from './served.js';

/**
 * Random and hostile requests across every route of the OpenAPI document,
 * sent over raw sockets (fetch would normalise bad escapes, raw unicode and
 * bogus headers). No answer may be a 5xx, show a stack trace, take longer
 * than its bound, let an unauthenticated caller through, or accept a source
 * the workers must not fetch.
 */
/** 1,000 in `npm test`; `npm run test:deep` sends 20,000. */
const REQUESTS = Number(process.env.BOOKTAPE_FUZZ_REQUESTS ?? 1_000);
const CONCURRENCY = 32;
const SEED = Number(process.env.BOOKTAPE_FUZZ_SEED ?? Date.now() % 2 ** 31);

let s: Served;
let routes: Array<{ path: string; method: string; params: string[] }>;

beforeAll(async () => {
  s = await serve({ 'clx5.dbn': CLX5 });
  const spec = (await (await fetch(`${s.base}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }> }>>;
  };
  routes = Object.entries(spec.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), params: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name) })));
}, 120_000);

afterAll(async () => {
  await s?.close();
});

/** Values that have broken parsers: numbers out of every range, injections, traversal, odd unicode. */
const hostileText = fc.oneof(
  fc.constantFrom(
    '', '0', '-1', '-0', '1e309', '-1e309', 'NaN', 'Infinity', '-Infinity', '9'.repeat(400), '0x10', '1.5', ' 1', '+5', '1_000',
    '18446744073709551616', '-9223372036854775809', '4294967296', '65536', '2147483648',
    "CLX5' OR 1=1--", "'; DROP TABLE book_snapshots; --", 'CLX5" OR ""="', "CLX5'); SELECT * FROM ingest_runs; --", '$1', '?',
    '../../etc/passwd', '..%2f..%2fetc%2fpasswd', '....//....//etc/passwd', '%00', '\u0000', '\r\nx-injected: 1',
    'CLX5', 'NOPE', 'CLX5,NOPE', ',,,', 'null', 'undefined', '[]', '{}', 'true', '__proto__', 'constructor',
    '2025-09-24T20:00:00Z', '2025-02-30T00:00:00Z', '1758742200001385399', '2554-07-21T23:34:33.709551616Z', '1969-12-31T23:59:59Z',
    'json', 'ndjson', 'csv', 'xml', '1758742200001385399,432669,1,1,0', '1,2,3,4,5,6',
    '💥', 'ǅ', 'İ', '\u202e', '\uffff', '\ud800', 'a'.repeat(5000),
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.integer().map(String),
  fc.double().map(String),
  fc.bigInt().map(String),
);

/** Lone surrogates cannot be %-escaped: they become U+FFFD first. */
const escaped = (x: string) => encodeURIComponent(x.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));

/** How a value goes into a URL: escaped, raw (unicode, spaces), or with broken % escapes. */
const encoded = (v: fc.Arbitrary<string>) => fc.tuple(v, fc.constantFrom('escaped', 'escaped', 'escaped', 'raw', 'broken')).map(([x, how]) => {
  if (how === 'escaped') return escaped(x);
  if (how === 'raw') return x;
  return `${escaped(x.slice(0, 3)).replace(/%/g, '')}%${['E0%A4%A', 'ZZ', '', 'C0%AF', 'FF', '2'][x.length % 6]}`;
});

/** Sources an ingest request may name: the server-side request forgery kind first. */
const SOURCES = [
  'http://127.0.0.1/x.dbn', 'http://127.0.0.1:6379/', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]/', 'http://localhost:8080/admin',
  'http://2130706433/', 'http://0x7f000001/', 'http://0/', 'http://[::ffff:127.0.0.1]/', 'https://evil.example@127.0.0.1/x.dbn',
  'file:///etc/passwd', 'FILE:///etc/shadow', 'ftp://example.com/x.dbn', 'gopher://127.0.0.1:6379/_FLUSHALL', 'dict://127.0.0.1:6379/info',
  'data:,x', 'javascript:alert(1)', 'jar:http://x/y!/z', 'https://example.com/x.dbn', 'http://', 'https://[', '//127.0.0.1/x.dbn',
  '/etc/passwd', '/proc/self/environ', '../../../../etc/shadow', '/tmp/../etc/passwd', 'x.dbn', '.', '/', '~/x.dbn', 'C:\\x.dbn',
];
/**
 * True for a source the server must not queue: any URL (no host is allowed
 * here), and any path but the one file under its data root (this server sees
 * its workers' files, so a missing one is refused too).
 */
const forbiddenSource = (source: unknown) =>
  typeof source === 'string' && (/^[a-z][a-z0-9+.-]+:/i.test(source) || resolve(source) !== join(s.dir, 'clx5.dbn'));

type Auth = { header?: string; grants: 'none' | 'read' | 'write' };
const b64 = (x: string) => Buffer.from(x).toString('base64');
const AUTHS: Auth[] = [
  { grants: 'none' },
  { header: `Bearer ${READ_TOKEN}`, grants: 'read' },
  { header: `bearer ${READ_TOKEN}`, grants: 'read' },
  { header: `Basic ${b64(`u:${READ_TOKEN}`)}`, grants: 'read' },
  { header: `Bearer ${WRITE_TOKEN}`, grants: 'write' },
  { header: `BEARER ${WRITE_TOKEN}`, grants: 'write' },
  { header: `basic ${b64(`admin:${WRITE_TOKEN}`)}`, grants: 'write' },
  { header: `Bearer ${READ_TOKEN.slice(0, -1)}`, grants: 'none' },
  { header: `Bearer ${WRITE_TOKEN}x`, grants: 'none' },
  { header: WRITE_TOKEN, grants: 'none' },
  { header: `Bearer${WRITE_TOKEN}`, grants: 'none' },
  { header: `Basic ${b64(WRITE_TOKEN)}`, grants: 'none' },
  { header: `Basic ${b64(`${WRITE_TOKEN}:`)}`, grants: 'none' },
  { header: 'Basic !!!not-base64!!!', grants: 'none' },
  { header: `Digest ${WRITE_TOKEN}`, grants: 'none' },
  { header: 'Bearer ', grants: 'none' },
];

interface FuzzRequest {
  method: string;
  target: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** What the route needs: public, the read token, or the write token. */
  needs: 'none' | 'read' | 'write';
  auth: Auth;
  source?: unknown;
}

const needsOf = (path: string): FuzzRequest['needs'] =>
  path.startsWith('/v1/ingest') || path.startsWith('/admin/queues') ? 'write' : path.startsWith('/v1/') ? 'read' : 'none';

const bodyArb = fc.oneof(
  fc.record({ source: fc.oneof(fc.constantFrom(...SOURCES), hostileText) }).map((b) => ({ json: b as Record<string, unknown> })),
  fc.dictionary(hostileText, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }).map((b) => ({ json: b as Record<string, unknown> })),
  fc.jsonValue({ maxDepth: 4 }).map((b) => ({ text: JSON.stringify(b) ?? 'null' })),
  fc.constantFrom('{', '{"source":', 'source=x.dbn', '\u0000\u0001', '{"source":"x"}'.repeat(2), `{"source":"${'x'.repeat(20_000)}"}`, '[' .repeat(5000)).map((text) => ({ text })),
);

const requestArb = (): fc.Arbitrary<FuzzRequest> => fc.record({
  route: fc.constantFrom(...routes),
  method: fc.oneof({ weight: 8, arbitrary: fc.constant('') }, { weight: 2, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD') }),
  pathValue: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('CLX5', 'NOPE', '1') }, { weight: 5, arbitrary: encoded(hostileText) }, { weight: 1, arbitrary: fc.constantFrom('..', '%2e%2e', '..%2F..%2Fadmin%2Fqueues', 'CLX5/../../admin/queues', '%2F', '') }),
  query: fc.array(fc.tuple(fc.oneof(fc.constantFrom('symbols', 'from', 'to', 'at', 'depth', 'limit', 'after', 'format', 'rate', 'speed', 'publisher_id'), hostileText.map(escaped), fc.constantFrom('depth[]', 'symbols[x]', '__proto__', 'constructor')), encoded(hostileText)), { maxLength: 5 }),
  routeParams: fc.boolean(),
  auth: fc.constantFrom(...AUTHS),
  body: fc.option(bodyArb, { freq: 2 }),
  contentType: fc.constantFrom('application/json', 'application/json', 'application/json; charset=utf-8', 'application/json; charset=UTF-16', 'application/json; charset=klingon', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'application/merge-patch+json', ''),
  contentEncoding: fc.constantFrom('', '', '', 'gzip', 'gzip-bad', 'deflate', 'br', 'x-bogus', 'gzip, gzip', 'identity'),
}).map((r) => {
  const method = r.method || r.route.method;
  let path = r.route.path.replace(/\{[^}]+\}/g, r.pathValue);
  const pairs = r.query.map(([k, v]) => `${k}=${v}`);
  if (r.routeParams && r.route.params.length > 0 && pairs.length > 0) pairs[0] = `${r.route.params[pairs.length % r.route.params.length]}=${pairs[0].split('=')[1]}`;
  if (pairs.length > 0) path += `?${pairs.join('&')}`;
  const headers: Record<string, string> = {};
  if (r.auth.header !== undefined) headers.authorization = r.auth.header;
  let body: Buffer | undefined;
  let source: unknown;
  const wantsBody = r.body !== null && (method === 'POST' || method === 'PUT' || method === 'PATCH' || r.route.method === 'POST');
  if (wantsBody && r.body !== null) {
    const text = 'json' in r.body ? JSON.stringify(r.body.json) : r.body.text;
    source = 'json' in r.body ? r.body.json.source : undefined;
    body = Buffer.from(text);
    if (r.contentType) headers['content-type'] = r.contentType;
    if (r.contentEncoding === 'gzip') { headers['content-encoding'] = 'gzip'; body = gzipSync(body); }
    else if (r.contentEncoding === 'gzip-bad') headers['content-encoding'] = 'gzip';
    else if (r.contentEncoding) headers['content-encoding'] = r.contentEncoding;
  }
  return { method, target: path, headers, body, needs: needsOf(r.route.path), auth: r.auth, source };
});

/** A stack trace or a server path in a body: what the answer must never show. */
const LEAK = /\n\s+at \S|\(\S+:\d+:\d+\)|node_modules|\/work\/|\.ts:\d+|\.js:\d+/;

interface Tally {
  sent: number;
  byStatus: Map<number, number>;
  failures: string[];
  serverErrors: number;
  leaks: number;
  unauthorised: number;
  forbiddenAccepted: number;
  timeouts: number;
}

function judge(req: FuzzRequest, res: RawResponse, t: Tally): void {
  t.byStatus.set(res.status, (t.byStatus.get(res.status) ?? 0) + 1);
  const what = `${req.method} ${req.target.slice(0, 200)} ${JSON.stringify(req.headers)} -> ${res.status} ${res.body.slice(0, 300)}`;
  if (res.status >= 500) { t.serverErrors++; t.failures.push(`5xx: ${what}`); }
  if (LEAK.test(res.body)) { t.leaks++; t.failures.push(`leak: ${what}`); }
  const granted = req.auth.grants === req.needs;
  // OPTIONS answers which methods a path takes, to anyone: CORS preflights carry no credentials.
  const optionsOnly = req.method === 'OPTIONS' && /^[A-Z, ]*$/.test(res.body);
  if (res.status < 400 && req.needs !== 'none' && !granted && !optionsOnly) { t.unauthorised++; t.failures.push(`unauthorised success: ${what}`); }
  if (res.status < 300 && req.method === 'POST' && req.target.startsWith('/v1/ingest') && forbiddenSource(req.source)) { t.forbiddenAccepted++; t.failures.push(`forbidden source accepted: ${what}`); }
}

describe('API fuzz', () => {
  it(`${REQUESTS} random and hostile requests: no 5xx, no stack trace, no unauthorised success, no forbidden source`, async () => {
    const requests = fc.sample(requestArb(), { numRuns: REQUESTS, seed: SEED });
    const t: Tally = { sent: 0, byStatus: new Map(), failures: [], serverErrors: 0, leaks: 0, unauthorised: 0, forbiddenAccepted: 0, timeouts: 0 };
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const req = requests[next++];
        const bytes = httpRequest(req.method, req.target, req.headers, req.body);
        try {
          const res = await rawRequest(s.server.httpPort, bytes, { maxBody: 16 * 1024, settleMs: 50, timeoutMs: 10_000, head: req.method === 'HEAD' });
          judge(req, res, t);
        } catch (err) {
          t.timeouts++;
          t.failures.push(`no answer: ${req.method} ${req.target.slice(0, 200)}: ${(err as Error).message}`);
        }
        t.sent++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - started) / 1000;
    const statuses = [...t.byStatus].sort(([a], [b]) => a - b).map(([k, v]) => `${k}: ${v}`).join(', ');
    const errorLogs = s.logged.filter((l) => (JSON.parse(l) as { level: number }).level >= 50);
    console.log(`API fuzz (seed ${SEED}): ${t.sent} requests over ${routes.length} routes in ${seconds.toFixed(1)} s; statuses ${statuses}; ` +
      `5xx ${t.serverErrors}, stack traces ${t.leaks}, unauthorised successes ${t.unauthorised}, forbidden sources accepted ${t.forbiddenAccepted}, ` +
      `no answer ${t.timeouts}, error-level logs ${errorLogs.length}`);
    expect(t.sent).toBe(REQUESTS);
    expect(t.failures.slice(0, 10)).toEqual([]);
    expect(errorLogs.slice(0, 3)).toEqual([]);
  }, 120_000);
});
