import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BooktapeError } from '../errors.js';
import { SourceError } from '../url-policy.js';

/**
 * What every source shares once its bytes flow: the meter (progress and the
 * content hash), the size limit, and for downloads the stall timer and the
 * body as chunks. A URL and a Databento request differ only in how the
 * answer is asked for.
 */

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
  /** Canonical name: the real path, the final URL after redirects, or a Databento request's text form. */
  name: string;
  meter: Meter;
  chunks: AsyncIterable<Uint8Array>;
}

/** Counts and hashes the chunks as they pass, and stops the source past `maxBytes`. */
export async function* metered(chunks: AsyncIterable<Uint8Array>, meter: Meter, maxBytes: number): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    meter.update(chunk);
    if (meter.bytes > maxBytes) {
      throw new SourceError('SOURCE_TOO_LARGE', `the source exceeds the ${maxBytes}-byte limit (BOOKTAPE_URL_MAX_BYTES)`);
    }
    yield chunk;
  }
}

/**
 * A download's deadline: `ms` for the answer's headers, then `ms` at most
 * between two chunks of its body. Its signal aborts the request when it fires.
 */
export class StallTimer {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout;

  constructor(readonly ms: number) {
    this.timer = setTimeout(() => this.controller.abort(), ms);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get fired(): boolean {
    return this.controller.signal.aborted;
  }

  rearm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.controller.abort(), this.ms);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

/**
 * A successful answer's body as a source: refused at once when its length is
 * over the limit, metered, and failing as SOURCE_TIMEOUT when it stalls for
 * the timer's span, SOURCE_HTTP_ERROR when it is cut off. `where` names the
 * server in messages; `name` is the source's canonical name.
 */
export async function downloadOf(res: Response, name: string, where: string, stall: StallTimer, maxBytes: number): Promise<OpenedSource> {
  const body = res.body!;
  const length = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(length) && length > maxBytes) {
    stall.clear();
    await body.cancel();
    throw new SourceError('SOURCE_TOO_LARGE', `${name} is ${length} bytes, over the ${maxBytes}-byte limit (BOOKTAPE_URL_MAX_BYTES)`);
  }
  const meter = new Meter(Number.isFinite(length) ? length : null);
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of body) {
        stall.rearm();
        yield chunk;
      }
    } catch (err) {
      if (stall.fired) throw new SourceError('SOURCE_TIMEOUT', `the download from ${where} stalled for ${stall.ms} ms`);
      throw new SourceError('SOURCE_HTTP_ERROR', `the download from ${where} failed: ${(err as Error).message}`);
    } finally {
      stall.clear();
    }
  }
  return { name, meter, chunks: metered(chunks(), meter, maxBytes) };
}

/**
 * Passes the chunks on and writes them to `path` as they pass, under a
 * `.part` name until the last one: a download cut short leaves no file, a
 * complete one is renamed into place. A write that fails (a full disk) stops
 * the source as KEEP_COPY_FAILED, which may pass.
 */
export async function* keptCopy(chunks: AsyncIterable<Uint8Array>, path: string): AsyncGenerator<Uint8Array> {
  const part = `${path}.part`;
  await mkdir(dirname(path), { recursive: true });
  const file = createWriteStream(part);
  let failure: Error | null = null;
  file.on('error', (err) => { failure = err; });
  const failed = () => new BooktapeError('KEEP_COPY_FAILED', 'unavailable', `cannot keep a copy of the download at ${part}: ${failure?.message}`);
  let complete = false;
  try {
    for await (const chunk of chunks) {
      if (!file.write(chunk)) await drainedOrFailed(file);
      if (failure) throw failed();
      yield chunk;
    }
    complete = true;
  } finally {
    if (!file.destroyed) await new Promise<void>((r) => file.end(() => r()));
    if (complete && failure === null) await rename(part, path);
    else await rm(part, { force: true });
  }
  if (failure) throw failed();
}

/** Resolves when `file` drains or fails, leaving no listener behind (a large download waits thousands of times). */
function drainedOrFailed(file: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      file.off('drain', done);
      file.off('error', done);
      resolve();
    };
    file.on('drain', done);
    file.on('error', done);
  });
}
