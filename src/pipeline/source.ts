import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { READ_CHUNK_BYTES } from '../dbn/reader.js';
import { SourceError, checkHost, isUrl, parseUrl, refuseDisallowedUrl } from '../url-policy.js';

export { SourceError, isUrl, refuseDisallowedUrl, type SourceErrorCode } from '../url-policy.js';


export interface SourcePolicy {
  /** Local files must resolve (after symlinks) under one of these directories. */
  dataRoots: string[];
  /** Hosts (host or host:port) URLs may name; none = URLs refused. */
  allowHosts: string[];
  maxBytes: number;
  /** For URLs: the wait for headers, and the longest pause between body chunks. */
  timeoutMs: number;
  maxRedirects: number;
}

/** Where bytes stand as they stream: for progress, and the content hash. */
export class Meter {
  bytes = 0;
  private readonly hash = createHash('sha256');
  constructor(readonly totalBytes: number | null) {}
  update(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

export interface OpenedSource {
  /** Canonical name: the real path, or the final URL after redirects. */
  name: string;
  meter: Meter;
  chunks: AsyncIterable<Uint8Array>;
}

/** `path` is `root` or inside it (both absolute and normalised). */
function isUnder(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Where a path leads, symlinks resolved as far as it exists: the real path
 * of its deepest existing ancestor with the rest appended, and whether the
 * whole path exists. A missing file is then placed as exactly as an
 * existing one: inside a root, or outside by a symlink or `..`.
 */
async function realPathSoFar(path: string): Promise<{ real: string; exists: boolean }> {
  const rest: string[] = [];
  for (let head = path; ; head = dirname(head)) {
    try {
      return { real: join(await realpath(head), ...rest), exists: rest.length === 0 };
    } catch {
      if (dirname(head) === head) return { real: path, exists: false };
      rest.unshift(basename(head));
    }
  }
}

function outsideRoots(source: string, roots: string[]): SourceError {
  return new SourceError(
    'SOURCE_NOT_ALLOWED',
    `${source} is outside the data roots (${roots.join(', ')}); move the file under one, or add its directory to BOOKTAPE_DATA_ROOTS`,
  );
}

/**
 * A local path, only under the configured data roots (no traversal, no
 * symlink escape). Where the path leads is checked before whether the file
 * is there, so a path outside the roots is refused alike whether or not
 * something exists at it: no answer says what is on disk outside them.
 */
export async function resolveLocalPath(source: string, roots: string[]): Promise<string> {
  const { real, exists } = await realPathSoFar(resolve(source));
  const realRoots = await Promise.all(roots.map(async (root) => realpath(resolve(root)).catch(() => null)));
  if (!realRoots.some((root) => root !== null && isUnder(real, root))) throw outsideRoots(source, roots);
  if (!exists) throw new SourceError('SOURCE_NOT_FOUND', `no such file: ${source}`);
  const s = await stat(real);
  if (!s.isFile()) throw new SourceError('SOURCE_NOT_FOUND', `not a regular file: ${source}`);
  return real;
}

/**
 * How much of a local source can be checked where a job is queued
 * (BOOKTAPE_SOURCE_CHECK): `file` where the workers' data roots are this
 * process's too (one machine, compose), `path` where they are on another
 * machine, so that only the path itself can be judged.
 */
export type SourceCheck = 'file' | 'path';

export interface EnqueuePolicy {
  dataRoots: string[];
  allowHosts: string[];
  check: SourceCheck;
}

/**
 * Refuses, before a job is queued, a source its worker would refuse, as far
 * as this process can tell: a URL by its scheme and host; a local path by
 * where it leads and, with `check: 'file'`, whether it is a file there (as
 * a worker would resolve it). With `check: 'path'` the path is judged as
 * written, `..` removed: a symlink or a missing file is for the worker to
 * find, and a path that reaches a root only through a symlink is refused.
 */
export async function refuseUnfetchableSource(source: string, policy: EnqueuePolicy): Promise<void> {
  if (isUrl(source)) return refuseDisallowedUrl(source, policy);
  if (policy.check === 'file') {
    await resolveLocalPath(source, policy.dataRoots);
    return;
  }
  const path = resolve(source);
  if (!policy.dataRoots.some((root) => isUnder(path, resolve(root)))) throw outsideRoots(source, policy.dataRoots);
}

/** The sha256 of a file's content, hex: the key `ingest_runs` records a run's source by. */
export async function fileSha256(path: string): Promise<string> {
  const meter = new Meter(null);
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK_BYTES })) meter.update(chunk as Buffer);
  return meter.digest();
}

async function* metered(chunks: AsyncIterable<Uint8Array>, meter: Meter, maxBytes: number): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    meter.update(chunk);
    if (meter.bytes > maxBytes) {
      throw new SourceError('SOURCE_TOO_LARGE', `the source exceeds the ${maxBytes}-byte limit (BOOKTAPE_URL_MAX_BYTES)`);
    }
    yield chunk;
  }
}

export async function openSource(source: string, policy: SourcePolicy): Promise<OpenedSource> {
  if (!isUrl(source)) {
    const path = await resolveLocalPath(source, policy.dataRoots);
    const meter = new Meter((await stat(path)).size);
    return { name: path, meter, chunks: metered(createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }), meter, Infinity) };
  }
  return openUrl(source, policy);
}

async function openUrl(source: string, policy: SourcePolicy): Promise<OpenedSource> {
  let url = parseUrl(source);
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(), policy.timeoutMs);
  const rearm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(), policy.timeoutMs);
  };
  let res: Response;
  try {
    for (let hop = 0; ; hop++) {
      checkHost(url, policy);
      res = await fetch(url, { redirect: 'manual', signal: controller.signal });
      if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
        await res.body?.cancel();
        if (hop >= policy.maxRedirects) throw new SourceError('TOO_MANY_REDIRECTS', `more than ${policy.maxRedirects} redirects from ${source}`);
        url = new URL(res.headers.get('location')!, url);
        continue;
      }
      break;
    }
  } catch (err) {
    clearTimeout(timer);
    if (err instanceof SourceError) throw err;
    if (controller.signal.aborted) throw new SourceError('SOURCE_TIMEOUT', `no answer from ${url.host} within ${policy.timeoutMs} ms`);
    throw new SourceError('SOURCE_HTTP_ERROR', `cannot fetch ${url}: ${(err as Error).message}`);
  }
  if (!res.ok || res.body === null) {
    clearTimeout(timer);
    await res.body?.cancel();
    throw new SourceError('SOURCE_HTTP_ERROR', `GET ${url} answered ${res.status} ${res.statusText}`);
  }
  const length = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(length) && length > policy.maxBytes) {
    clearTimeout(timer);
    await res.body.cancel();
    throw new SourceError('SOURCE_TOO_LARGE', `${url} is ${length} bytes, over the ${policy.maxBytes}-byte limit (BOOKTAPE_URL_MAX_BYTES)`);
  }
  const body = res.body;
  const meter = new Meter(Number.isFinite(length) ? length : null);
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of body) {
        rearm();
        yield chunk;
      }
    } catch (err) {
      if (controller.signal.aborted) throw new SourceError('SOURCE_TIMEOUT', `the download from ${url.host} stalled for ${policy.timeoutMs} ms`);
      throw new SourceError('SOURCE_HTTP_ERROR', `the download from ${url} failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
  return { name: url.toString(), meter, chunks: metered(chunks(), meter, policy.maxBytes) };
}
