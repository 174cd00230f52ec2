import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { READ_CHUNK_BYTES } from '../dbn/reader.js';
import { SourceError, checkHost, isUrl, parseUrl, refuseDisallowedUrl } from '../url-policy.js';
import { isDatabentoSource } from '../databento-request.js';
import { openDatabento, type DatabentoPolicy } from './databento.js';
import { Meter, StallTimer, downloadOf, metered, type OpenedSource } from './download.js';

export { SourceError, isUrl, refuseDisallowedUrl, type SourceErrorCode } from '../url-policy.js';
export type { OpenedSource } from './download.js';


export interface SourcePolicy {
  /** Local files must resolve (after symlinks) under one of these directories. */
  dataRoots: string[];
  /** Hosts (host or host:port) URLs may name; none = URLs refused. */
  allowHosts: string[];
  maxBytes: number;
  /** For URLs: the wait for headers, and the longest pause between body chunks. */
  timeoutMs: number;
  maxRedirects: number;
  /** Databento requests: where the API is, the key, the cost limit. Unset: such sources fail with DATABENTO_NO_KEY. */
  databento?: DatabentoPolicy;
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
  // A URL by its scheme and host; a Databento request (databento:...) by its own parser.
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

/** A local file, an http(s) URL, or a Databento request (`databento:...`), as a stream of chunks. */
export async function openSource(source: string, policy: SourcePolicy): Promise<OpenedSource> {
  if (isDatabentoSource(source)) return openDatabento(source, policy);
  if (!isUrl(source)) {
    const path = await resolveLocalPath(source, policy.dataRoots);
    const meter = new Meter((await stat(path)).size);
    return { name: path, meter, chunks: metered(createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }), meter, Infinity) };
  }
  return openUrl(source, policy);
}

async function openUrl(source: string, policy: SourcePolicy): Promise<OpenedSource> {
  let url = parseUrl(source);
  const stall = new StallTimer(policy.timeoutMs);
  let res: Response;
  try {
    for (let hop = 0; ; hop++) {
      checkHost(url, policy);
      res = await fetch(url, { redirect: 'manual', signal: stall.signal });
      if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
        await res.body?.cancel();
        if (hop >= policy.maxRedirects) throw new SourceError('TOO_MANY_REDIRECTS', `more than ${policy.maxRedirects} redirects from ${source}`);
        url = new URL(res.headers.get('location')!, url);
        continue;
      }
      break;
    }
  } catch (err) {
    stall.clear();
    if (err instanceof SourceError) throw err;
    if (stall.fired) throw new SourceError('SOURCE_TIMEOUT', `no answer from ${url.host} within ${policy.timeoutMs} ms`);
    throw new SourceError('SOURCE_HTTP_ERROR', `cannot fetch ${url}: ${(err as Error).message}`);
  }
  if (!res.ok || res.body === null) {
    stall.clear();
    await res.body?.cancel();
    throw new SourceError('SOURCE_HTTP_ERROR', `GET ${url} answered ${res.status} ${res.statusText}`);
  }
  return downloadOf(res, url.toString(), url.host, stall, policy.maxBytes);
}
