import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { READ_CHUNK_BYTES } from '../dbn/reader.js';
import { SourceError, checkHost, isUrl, parseUrl } from '../url-policy.js';
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

/** A local path, only under the configured data roots (no traversal, no symlink escape). */
export async function resolveLocalPath(source: string, roots: string[]): Promise<string> {
  const wanted = resolve(source);
  let real: string;
  try {
    real = await realpath(wanted);
  } catch {
    throw new SourceError('SOURCE_NOT_FOUND', `no such file: ${source}`);
  }
  for (const root of roots) {
    let realRoot: string;
    try {
      realRoot = await realpath(resolve(root));
    } catch {
      continue;
    }
    const rel = relative(realRoot, real);
    if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && !rel.startsWith(`..${sep}`))) {
      const s = await stat(real);
      if (!s.isFile()) throw new SourceError('SOURCE_NOT_FOUND', `not a regular file: ${source}`);
      return real;
    }
  }
  throw new SourceError(
    'SOURCE_NOT_ALLOWED',
    `${source} is outside the data roots (${roots.join(', ')}); move the file under one, or add its directory to BOOKTAPE_DATA_ROOTS`,
  );
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
