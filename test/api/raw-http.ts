import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
  /** The body was longer than asked for: the connection was closed before its end. */
  truncated: boolean;
}

export interface RawOptions {
  /** Read at most this many bytes of a body, then close. */
  maxBody?: number;
  /** Reject unless the response is read (or cut as asked) within this time. */
  timeoutMs?: number;
  /** Stop this long after the head arrived, whatever of the body came by then (a paced stream). */
  settleMs?: number;
  /** The request was a HEAD: the response has no body, whatever its length header says. */
  head?: boolean;
}

/**
 * Sends bytes as they are to an HTTP port and reads one response: for the
 * requests fetch would refuse or normalise (bad % escapes, raw unicode,
 * bogus headers). A body longer than `maxBody`, or still coming `settleMs`
 * after the head, is cut and the connection closed (`truncated`).
 */
export function rawRequest(port: number, request: string | Buffer, { maxBody = 64 * 1024, timeoutMs = 10_000, settleMs, head = false }: RawOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let settled = false;
    let settleTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => finish(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
    function finish(result: RawResponse | Error) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(settleTimer);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    }
    function parse(ended: boolean, cut = false): RawResponse | null {
      const headEnd = data.indexOf('\r\n\r\n');
      if (headEnd === -1) return null;
      const [statusLine, ...lines] = data.subarray(0, headEnd).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const colon = l.indexOf(':');
        headers[l.slice(0, colon).trim().toLowerCase()] = l.slice(colon + 1).trim();
      }
      const status = Number(statusLine.split(' ')[1]);
      let body = data.subarray(headEnd + 4);
      let complete = ended || head;
      if (head) body = Buffer.alloc(0);
      else if (headers['transfer-encoding'] === 'chunked') {
        const parts: Buffer[] = [];
        let o = 0;
        for (;;) {
          const eol = body.indexOf('\r\n', o);
          if (eol === -1) break;
          const size = parseInt(body.subarray(o, eol).toString('latin1'), 16);
          if (size === 0) { complete = true; break; }
          if (body.length < eol + 2 + size + 2) break;
          parts.push(body.subarray(eol + 2, eol + 2 + size));
          o = eol + 2 + size + 2;
        }
        body = Buffer.concat(parts);
      } else if (headers['content-length'] !== undefined) {
        complete = body.length >= Number(headers['content-length']);
      } else if (status === 204 || status === 304) complete = true;
      const truncated = body.length > maxBody || (cut && !complete);
      if (!complete && !truncated) return null;
      return { status, headers, body: body.subarray(0, maxBody).toString('utf8'), truncated };
    }
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const r = parse(false);
      if (r) finish(r);
      else if (settleMs !== undefined && settleTimer === undefined && data.includes('\r\n\r\n')) {
        settleTimer = setTimeout(() => finish(parse(false, true) ?? new Error('unreadable response')), settleMs);
      }
    });
    socket.on('end', () => finish(parse(true) ?? new Error(`the connection closed without a whole response: ${JSON.stringify(data.subarray(0, 200).toString('latin1'))}`)));
    socket.on('error', (err) => finish(parse(true) ?? err));
    socket.write(request);
  });
}

/** A request as bytes: `Connection: close` and, with a body, its length, unless the headers say otherwise. */
export function httpRequest(method: string, target: string, headers: Record<string, string> = {}, body?: string | Buffer): Buffer {
  const all: Record<string, string> = { host: '127.0.0.1', connection: 'close', ...headers };
  if (body !== undefined && all['content-length'] === undefined && all['transfer-encoding'] === undefined) all['content-length'] = String(Buffer.byteLength(body));
  const head = `${method} ${target} HTTP/1.1\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'utf8'), body === undefined ? Buffer.alloc(0) : Buffer.from(body)]);
}
