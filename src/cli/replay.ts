import { once } from 'node:events';
import { connect } from 'node:net';
import type { Writable } from 'node:stream';
import { mbpRecordLength, parseMetadata, PRELUDE_LENGTH, readPrelude, schemaName } from '../dbn/index.js';
import { BooktapeError, kindOfStatus } from '../errors.js';
import { pacedSeconds, type Pace } from '../stream/pacing.js';
import { ReplayQuery } from '../stream/requests.js';
import { UsageError } from './errors.js';
import { refuseBinaryToTty } from './files.js';

/**
 * `booktape replay`: a client of a running server's replay, over HTTP
 * (GET /v1/replay) or its TCP port, that writes the stream to stdout as it
 * arrives, NDJSON lines or DBN bytes, exactly as the server sends them. What
 * the replay will take and how it ended go to stderr. A request the server
 * refuses, a server that does not answer, and a stream cut short are each a
 * typed error (exit 2, as FAILURE_KINDS gives).
 */

/** The command's options, as commander gives them: text, checked here with the server's own schema. */
export interface ReplayOptions {
  url?: string;
  /** `[host:]port` of the TCP replay port, or true for localhost:BOOKTAPE_TCP_PORT. */
  tcp?: string | true;
  symbols?: string;
  from?: string;
  to?: string;
  after?: string;
  depth?: string;
  publisherId?: string;
  rate?: string;
  speed?: string;
  format: string;
  token?: string;
}

/** How long a server has to accept the connection and start answering; the stream itself may then take as long as its pace says. */
const ANSWER_TIMEOUT_MS = 10_000;

/** Each replay parameter and the option that sets it, for messages. */
const OPTION_OF: Record<string, string> = {
  symbols: '--symbols', from: '--from', to: '--to', after: '--after', depth: '--depth',
  publisher_id: '--publisher-id', rate: '--rate', speed: '--speed', format: '--format',
};

/** The replay parameters (GET /v1/replay's query, the TCP request line's fields), checked as the server checks them. */
function replayParameters(opts: ReplayOptions): { params: Record<string, string>; pace: Pace; format: 'ndjson' | 'dbn' } {
  const given: Record<string, string | undefined> = {
    symbols: opts.symbols, from: opts.from, to: opts.to, after: opts.after, depth: opts.depth,
    publisher_id: opts.publisherId, rate: opts.rate, speed: opts.speed, format: opts.format,
  };
  const params = Object.fromEntries(Object.entries(given).filter((e): e is [string, string] => e[1] !== undefined));
  const parsed = ReplayQuery.safeParse(params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const option = OPTION_OF[String(issue.path[0])] ?? '';
    const value = params[String(issue.path[0])];
    throw new UsageError('USAGE', `${option} ${issue.message}${value !== undefined ? `, got "${value}"` : ''}`.trim());
  }
  return { params, pace: { rate: parsed.data.rate, speed: parsed.data.speed }, format: parsed.data.format };
}

export async function replayCommand(opts: ReplayOptions, out: Writable = process.stdout): Promise<void> {
  const { params, pace, format } = replayParameters(opts);
  if (format === 'dbn' && out === process.stdout) refuseBinaryToTty('--format dbn');
  const output = new ReplayOutput(out, format, pace);
  // The environment (or .env, read by then) as `serve` reads it, so that one .env serves both.
  const token = opts.token ?? (process.env.BOOKTAPE_READ_TOKEN || undefined);
  if (opts.tcp !== undefined) {
    await tcpReplay(tcpAddress(opts.tcp), { ...params, ...(token ? { token } : {}) }, output);
  } else {
    await httpReplay(opts.url ?? `http://localhost:${process.env.PORT || 8080}`, params, token, output);
  }
  output.finish();
}

function serverDown(where: string, why: string): BooktapeError {
  return new BooktapeError('SERVER_UNAVAILABLE', 'unavailable', `no booktape server answered at ${where} (${why}): start one (npm run demo, or booktape serve), or give its address with --url or --tcp`);
}

/** Why a connection failed, as its errno says it (ECONNREFUSED, ENOTFOUND), or its message. */
function causeOf(err: unknown): string {
  const e = ((err as { cause?: unknown }).cause ?? err) as NodeJS.ErrnoException;
  return e?.code ?? e?.message ?? String(err);
}

async function httpReplay(base: string, params: Record<string, string>, token: string | undefined, output: ReplayOutput): Promise<void> {
  let url: URL;
  try {
    url = new URL('/v1/replay', base);
  } catch {
    throw new UsageError('USAGE', `--url must be the server's address, such as http://localhost:8080, got "${base}"`);
  }
  url.search = new URLSearchParams(params).toString();
  const answered = new AbortController();
  const timer = setTimeout(() => answered.abort(), ANSWER_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: answered.signal });
  } catch (err) {
    throw serverDown(url.origin, answered.signal.aborted ? `no answer within ${ANSWER_TIMEOUT_MS / 1000} s` : causeOf(err));
  } finally {
    clearTimeout(timer);
  }
  if (!res.ok || res.body === null) throw await refusal(res);
  try {
    for await (const chunk of res.body) await output.write(chunk);
  } catch (err) {
    if (err instanceof BooktapeError) throw err;
    // The connection dropped mid-stream: finish() says the stream was cut.
  }
}

/** A refused request as the error its problem+json names: its code and detail, of the kind its status says. */
async function refusal(res: Response): Promise<BooktapeError> {
  const text = await res.text().catch(() => '');
  let problem: { code?: unknown; detail?: unknown } = {};
  try {
    problem = JSON.parse(text) as typeof problem;
  } catch {
    // Not booktape's problem+json (a proxy's page): the status says it.
  }
  const code = typeof problem.code === 'string' ? problem.code : `HTTP_${res.status}`;
  const detail = typeof problem.detail === 'string' ? problem.detail : `the server answered ${res.status} ${res.statusText}`;
  return new BooktapeError(code, kindOfStatus(res.status), detail);
}

/** `7070`, `host:7070` or `[::1]:7070`; true (no value): localhost at BOOKTAPE_TCP_PORT. */
function tcpAddress(spec: string | true): { host: string; port: number } {
  const text = spec === true ? String(process.env.BOOKTAPE_TCP_PORT || 7070) : spec;
  const m = /^(?:\[([^\]]+)\]:|([^:]+):)?(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (m === null || port < 1 || port > 65_535) throw new UsageError('USAGE', `--tcp must be [host:]port, such as localhost:7070, got "${text}"`);
  return { host: m[1] ?? m[2] ?? 'localhost', port };
}

async function tcpReplay(address: { host: string; port: number }, request: Record<string, string>, output: ReplayOutput): Promise<void> {
  const where = `${address.host}:${address.port}`;
  const socket = connect(address);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(serverDown(where, `no answer within ${ANSWER_TIMEOUT_MS / 1000} s`)), ANSWER_TIMEOUT_MS);
      socket.once('connect', () => { clearTimeout(timer); resolve(); });
      socket.once('error', (err) => { clearTimeout(timer); reject(serverDown(where, causeOf(err))); });
    });
    // One request line; the half-close says there is no more.
    socket.end(`${JSON.stringify(request)}\n`);
    try {
      for await (const chunk of socket) await output.write(chunk as Buffer);
    } catch (err) {
      if (err instanceof BooktapeError) throw err;
      // Reset mid-stream: finish() says the stream was cut.
    }
  } finally {
    socket.destroy();
  }
}

/** Seconds as a person reads a wait. */
function duration(seconds: number): string {
  if (seconds < 1) return 'under a second';
  if (seconds < 90) return `about ${Math.round(seconds)} s`;
  if (seconds < 5400) return `about ${Math.round(seconds / 60)} min`;
  return `about ${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

const say = (line: string) => process.stderr.write(`booktape: ${line}\n`);

/** The most of an NDJSON stream's end kept to find its last line: end and error lines are short. */
const TAIL_BYTES = 64 * 1024;

/**
 * The stream on its way to stdout. It reads what it must to tell the user
 * what they get: the NDJSON header line (frames, seconds) or the DBN
 * metadata (its `limit`), an error line in place of either (a refusal on
 * the TCP port, which has no status line), and at the end, whether the
 * stream was whole: the end line, or as many records as the metadata said.
 */
class ReplayOutput {
  /** Bytes before the start is known (the header line, the metadata), held back from stdout. */
  private head = Buffer.alloc(0);
  private started = false;
  private tail = Buffer.alloc(0);
  private dbn: { limit: number; recordLength: number; recordBytes: number } | null = null;

  constructor(private readonly out: Writable, private readonly format: 'ndjson' | 'dbn', private readonly pace: Pace) {}

  async write(chunk: Uint8Array): Promise<void> {
    let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (!this.started) {
      this.head = Buffer.concat([this.head, bytes]);
      if (!this.start()) return;
      bytes = this.head;
      this.head = Buffer.alloc(0);
    }
    if (this.dbn !== null) this.dbn.recordBytes += bytes.length;
    else this.tail = Buffer.concat([this.tail, bytes]).subarray(-TAIL_BYTES);
    if (!this.out.write(bytes)) await once(this.out, 'drain');
  }

  /** Reads the start of the stream once it has arrived; false while more is needed. Throws a refusal's error. */
  private start(): boolean {
    if (this.format === 'ndjson' || this.head[0] === 0x7b) { // '{': a refusal's error line in place of DBN
      const nl = this.head.indexOf(0x0a);
      if (nl === -1) return false;
      const first = JSON.parse(this.head.subarray(0, nl).toString('utf8')) as Record<string, unknown>;
      if (first.type === 'error') throw errorOfLine(first);
      if (typeof first.frames === 'number' && typeof first.seconds === 'number') this.announce(first.frames, first.seconds);
    } else {
      if (this.head.length < PRELUDE_LENGTH) return false;
      const prelude = readPrelude(this.head);
      if (this.head.length < PRELUDE_LENGTH + prelude.metadataLength) return false;
      const meta = parseMetadata(this.head, prelude);
      const limit = Number(meta.limit);
      // The head goes out as the first write and is counted with the records: the metadata in it is not one.
      this.dbn = { limit, recordLength: mbpRecordLength(schemaName(meta.schema) === 'mbp-1' ? 1 : 10), recordBytes: -(PRELUDE_LENGTH + prelude.metadataLength) };
      if (this.pace.rate > 0 || this.pace.speed > 0) this.announce(limit, pacedSeconds(limit, BigInt(meta.end) - 1n - BigInt(meta.start), this.pace));
    }
    this.started = true;
    return true;
  }

  private announce(frames: number, seconds: number): void {
    const pace = this.pace.rate > 0 ? `${this.pace.rate} frames/s` : `${this.pace.speed}x recorded time`;
    say(`replaying ${frames} frames at ${pace}: ${duration(seconds)}`);
  }

  /** After the last byte: says how the stream ended, or throws why it is not whole. */
  finish(): void {
    if (this.dbn !== null) {
      const records = Math.floor(this.dbn.recordBytes / this.dbn.recordLength);
      if (records < this.dbn.limit) throw cut(`${records} of the ${this.dbn.limit} records its metadata announced arrived`);
      say(`replay ended: ${records} records`);
      return;
    }
    if (!this.started) throw cut('the server closed it before its first line');
    const text = this.tail.toString('utf8');
    const last = text.endsWith('\n') ? text.slice(text.lastIndexOf('\n', text.length - 2) + 1, -1) : '';
    const line = last.startsWith('{"type":"end"') || last.startsWith('{"type":"error"') ? JSON.parse(last) as Record<string, unknown> : null;
    if (line?.type === 'error') throw errorOfLine(line);
    if (line?.type !== 'end') throw cut('no end line arrived');
    say(`replay ended: ${String(line.frames)} frames`);
  }
}

/** An error line ({type:"error", status, code, detail[, frames]}) as the error it reports. */
function errorOfLine(line: Record<string, unknown>): BooktapeError {
  const after = typeof line.frames === 'number' ? ` (after ${line.frames} frames)` : '';
  return new BooktapeError(String(line.code), kindOfStatus(Number(line.status ?? 500)), `${String(line.detail)}${after}`);
}

function cut(why: string): BooktapeError {
  return new BooktapeError('REPLAY_CUT', 'unavailable', `the replay stream was cut: ${why}; run it again with --after set to the key of the last frame received`);
}
