import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../../src/pipeline/ingest.js';
import { IngestError } from '../../src/pipeline/errors.js';
import { SourceError, openSource, refuseDisallowedUrl, refuseUnfetchableSource, resolveLocalPath, type EnqueuePolicy, type SourcePolicy } from '../../src/pipeline/source.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import { CLX5 } from '../helpers.js';

/**
 * URL sources against a real HTTP server on this machine, which serves the
 * CLX5 sample and misbehaves on request: redirects, errors, sizes, stalls.
 */
const clx5 = readFileSync(CLX5);
const sockets = new Set<import('node:net').Socket>();
let server: Server;
let host: string;

const routes: Record<string, (res: ServerResponse) => void> = {
  '/clx5.dbn': (res) => res.writeHead(200, { 'content-length': clx5.length }).end(clx5),
  // No content-length: the size is known only by counting.
  '/chunked.dbn': (res) => {
    res.writeHead(200);
    for (let o = 0; o < clx5.length; o += 64 * 1024) res.write(clx5.subarray(o, o + 64 * 1024));
    res.end();
  },
  '/r1': (res) => res.writeHead(302, { location: '/r2' }).end(),
  '/r2': (res) => res.writeHead(301, { location: `http://${host}/r3` }).end(),
  '/r3': (res) => res.writeHead(307, { location: '/clx5.dbn' }).end(),
  '/away': (res) => res.writeHead(302, { location: 'http://elsewhere.example/x.dbn' }).end(),
  '/to-file': (res) => res.writeHead(302, { location: 'file:///etc/passwd' }).end(),
  '/missing': (res) => res.writeHead(404).end('no'),
  '/silent': () => undefined, // never answers
  // Headers and part of the body, then nothing more.
  '/stall': (res) => { res.writeHead(200, { 'content-length': clx5.length }); res.write(clx5.subarray(0, 200_000)); },
  // Part of the body, then the connection drops.
  '/reset': (res) => { res.writeHead(200, { 'content-length': clx5.length }); res.write(clx5.subarray(0, 200_000), () => res.socket?.destroy()); },
};

beforeAll(async () => {
  server = createServer((req, res) => (routes[req.url ?? ''] ?? routes['/missing'])(res));
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  for (const s of sockets) s.destroy();
  server.close();
});

const policy = (over: Partial<SourcePolicy> = {}): SourcePolicy =>
  ({ dataRoots: [], allowHosts: [host], maxBytes: 1e9, timeoutMs: 2000, maxRedirects: 3, ...over });

/** Opens and reads a source to its end: its bytes, or the SourceError it fails with. */
async function fetchAll(path: string, p: SourcePolicy = policy()): Promise<{ bytes: Buffer; name: string } | SourceError> {
  try {
    const src = await openSource(`http://${host}${path}`, p);
    const parts: Uint8Array[] = [];
    for await (const c of src.chunks) parts.push(c);
    return { bytes: Buffer.concat(parts), name: src.name };
  } catch (err) {
    if (err instanceof SourceError) return err;
    throw err;
  }
}

const failure = async (path: string, p?: SourcePolicy) => {
  const r = await fetchAll(path, p);
  expect(r).toBeInstanceOf(SourceError);
  return r as SourceError;
};

describe('URL sources', () => {
  it('an allowed host: the whole file, with or without a length; redirects followed up to the limit, to the final URL', async () => {
    for (const path of ['/clx5.dbn', '/chunked.dbn', '/r1']) {
      const r = await fetchAll(path);
      expect(r).not.toBeInstanceOf(SourceError);
      expect((r as { bytes: Buffer }).bytes.equals(clx5)).toBe(true);
    }
    expect(((await fetchAll('/r1')) as { name: string }).name).toBe(`http://${host}/clx5.dbn`);
  });

  it('ingesting a URL lands what the local file lands, with the same content hash', async () => {
    const store = new DuckDbStore(':memory:');
    await store.init();
    try {
      const s = await ingest(`http://${host}/chunked.dbn`, { store, sourcePolicy: policy(), snapshotPolicy: { depth: 10, intervalNs: 0 } });
      expect(s.snapshots).toBe(32_053);
      expect(await store.countSnapshots()).toBe(32_053);
      expect(s.sha256).toBe(createHash('sha256').update(clx5).digest('hex'));
      expect(s.source).toBe(`http://${host}/chunked.dbn`);
    } finally {
      await store.close();
    }
  });

  it('a host off the allow-list, also when a redirect leads there, is SOURCE_NOT_ALLOWED naming the setting', async () => {
    const off = await failure('/clx5.dbn', policy({ allowHosts: ['data.example'] }));
    expect(off.code).toBe('SOURCE_NOT_ALLOWED');
    expect(off.message).toContain('BOOKTAPE_URL_ALLOW_HOSTS');
    const away = await failure('/away');
    expect(away.code).toBe('SOURCE_NOT_ALLOWED');
    expect(away.message).toContain('elsewhere.example');
  });

  it('a source with any other scheme is a URL refused as SOURCE_NOT_ALLOWED, never taken for a file name; so is a redirect to one', async () => {
    for (const spec of ['ftp://example.com/x.dbn', 'file:///etc/passwd', 'FILE:///etc/passwd', 'gopher://127.0.0.1:6379/_', 'data:,x', `ftp://${host}/clx5.dbn`]) {
      const err = await openSource(spec, policy({ dataRoots: ['/'] })).then(() => null, (e: unknown) => e);
      expect(err, spec).toBeInstanceOf(SourceError);
      expect((err as SourceError).code, spec).toBe('SOURCE_NOT_ALLOWED');
      expect(() => refuseDisallowedUrl(spec, { allowHosts: [host, 'example.com'] }), spec).toThrow(/http and https/);
    }
    const redirected = await failure('/to-file');
    expect(redirected.code).toBe('SOURCE_NOT_ALLOWED');
  });

  it('the allow-list matches host names whatever their case', () => {
    expect(() => refuseDisallowedUrl('https://DATA.Example/x.dbn', { allowHosts: ['data.example'] })).not.toThrow();
    expect(() => refuseDisallowedUrl('https://data.example/x.dbn', { allowHosts: ['Data.Example'] })).not.toThrow();
    expect(() => refuseDisallowedUrl('http://127.0.0.1/x.dbn', { allowHosts: ['data.example'] })).toThrow(/not allowed/);
  });

  it('more redirects than allowed is TOO_MANY_REDIRECTS', async () => {
    const e = await failure('/r1', policy({ maxRedirects: 2 }));
    expect(e.code).toBe('TOO_MANY_REDIRECTS');
  });

  it('an HTTP error status is SOURCE_HTTP_ERROR with the status', async () => {
    const e = await failure('/missing');
    expect(e.code).toBe('SOURCE_HTTP_ERROR');
    expect(e.message).toContain('404');
  });

  it('over the size limit is SOURCE_TOO_LARGE: at once from the length, or as the bytes pass the limit', async () => {
    for (const path of ['/clx5.dbn', '/chunked.dbn']) {
      const e = await failure(path, policy({ maxBytes: 100_000 }));
      expect(e.code).toBe('SOURCE_TOO_LARGE');
      expect(e.message).toContain('BOOKTAPE_URL_MAX_BYTES');
    }
  });

  it('no answer, or a body that stalls, is SOURCE_TIMEOUT after the timeout; a dropped connection is SOURCE_HTTP_ERROR', async () => {
    const t0 = performance.now();
    const silent = await failure('/silent', policy({ timeoutMs: 300 }));
    expect(silent.code).toBe('SOURCE_TIMEOUT');
    const stall = await failure('/stall', policy({ timeoutMs: 300 }));
    expect(stall.code).toBe('SOURCE_TIMEOUT');
    expect(stall.message).toContain('stalled');
    expect(performance.now() - t0).toBeLessThan(5_000);
    const reset = await failure('/reset');
    expect(reset.code).toBe('SOURCE_HTTP_ERROR');
  });

  it('a stalled download fails the ingest with its code, as an error worth a retry', async () => {
    const store = new DuckDbStore(':memory:');
    await store.init();
    try {
      const err = await ingest(`http://${host}/stall`, { store, sourcePolicy: policy({ timeoutMs: 300 }), snapshotPolicy: { depth: 10, intervalNs: 0 } })
        .then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(IngestError);
      expect((err as IngestError).code).toBe('SOURCE_TIMEOUT');
      expect((err as IngestError).permanent).toBe(false); // worth a retry
    } finally {
      await store.close();
    }
  });
});

describe('local sources: where a path leads, then whether the file is there', () => {
  // root/ holds a file, a directory, a symlink out of the roots, a symlink within them;
  // outside/ (beside root, not a root) holds a file and the targets of the escapes.
  const base = mkdtempSync(join(tmpdir(), 'booktape-roots-'));
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, 'a.dbn'), 'x');
  writeFileSync(join(outside, 'secret.dbn'), 'x');
  symlinkSync(outside, join(root, 'escape'));
  symlinkSync(join(outside, 'secret.dbn'), join(root, 'secret-link.dbn'));
  symlinkSync(join(root, 'a.dbn'), join(outside, 'into-root.dbn'));
  const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e as SourceError).code);

  it.each([
    ['a file under a root', join(root, 'a.dbn'), 'ok'],
    ['.. that stays inside', join(root, 'sub', '..', 'a.dbn'), 'ok'],
    ['a relative path', relative(process.cwd(), join(root, 'a.dbn')), 'ok'],
    ['a symlink from outside that leads into a root', join(outside, 'into-root.dbn'), 'ok'],
    ['a missing file under a root', join(root, 'nope.dbn'), 'SOURCE_NOT_FOUND'],
    ['a directory', join(root, 'sub'), 'SOURCE_NOT_FOUND'],
    ['a file outside', join(outside, 'secret.dbn'), 'SOURCE_NOT_ALLOWED'],
    // Outside is refused alike whether or not something is there: no answer tells what exists out there.
    ['a missing file outside', join(outside, 'nope.dbn'), 'SOURCE_NOT_ALLOWED'],
    ['/etc/passwd', '/etc/passwd', 'SOURCE_NOT_ALLOWED'],
    ['.. out of a root', join(root, '..', 'outside', 'secret.dbn'), 'SOURCE_NOT_ALLOWED'],
    ['.. out of a root to a missing file', join(root, '..', '..', 'nope.dbn'), 'SOURCE_NOT_ALLOWED'],
    ['a symlinked file that leads out', join(root, 'secret-link.dbn'), 'SOURCE_NOT_ALLOWED'],
    ['a symlinked directory that leads out', join(root, 'escape', 'secret.dbn'), 'SOURCE_NOT_ALLOWED'],
    ['a missing file behind a symlink that leads out', join(root, 'escape', 'nope.dbn'), 'SOURCE_NOT_ALLOWED'],
    ['a sibling whose name starts with the root\'s', `${root}-other/a.dbn`, 'SOURCE_NOT_ALLOWED'],
  ])('%s: %s is %s', async (_what, source, code) => {
    expect(await codeOf(resolveLocalPath(source, [root]))).toBe(code);
    // Where the API sees the workers' roots (BOOKTAPE_SOURCE_CHECK=file), it refuses the same, before queueing.
    expect(await codeOf(refuseUnfetchableSource(source, { dataRoots: [root], allowHosts: [], check: 'file' }))).toBe(code);
  });

  it('a file named like ".." inside a root is inside', async () => {
    writeFileSync(join(root, '..x.dbn'), 'x');
    expect(await resolveLocalPath(join(root, '..x.dbn'), [root])).toBe(join(root, '..x.dbn'));
  });

  it('with check "path" (workers on another machine), only the path as written is judged: .. removed, no disk read', async () => {
    const split: EnqueuePolicy = { dataRoots: ['/srv/dbn'], allowHosts: ['data.example'], check: 'path' };
    expect(await codeOf(refuseUnfetchableSource('/srv/dbn/missing-here.dbn', split))).toBe('ok'); // the worker will look
    expect(await codeOf(refuseUnfetchableSource('/srv/dbn/a/../b.dbn', split))).toBe('ok');
    expect(await codeOf(refuseUnfetchableSource('/srv/dbn/../../etc/passwd', split))).toBe('SOURCE_NOT_ALLOWED');
    expect(await codeOf(refuseUnfetchableSource('/etc/passwd', split))).toBe('SOURCE_NOT_ALLOWED');
    expect(await codeOf(refuseUnfetchableSource('/srv/dbn-other/x.dbn', split))).toBe('SOURCE_NOT_ALLOWED');
    expect(await codeOf(refuseUnfetchableSource('https://data.example/x.dbn', split))).toBe('ok');
    expect(await codeOf(refuseUnfetchableSource('https://other.example/x.dbn', split))).toBe('SOURCE_NOT_ALLOWED');
    // A path that reaches a root only through a symlink cannot be told from outside: refused, as docs/operations.md says.
    expect(await codeOf(refuseUnfetchableSource(join(outside, 'into-root.dbn'), { ...split, dataRoots: [root] }))).toBe('SOURCE_NOT_ALLOWED');
  });
});
