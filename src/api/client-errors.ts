import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Answers for requests Node's HTTP parser rejects before Express sees them
 * (a malformed request line, headers over Node's 16 KB limit, a request
 * that never completed its headers): problem+json like every other error,
 * where Node would write a bare `400 Bad Request` or `431` with no body.
 * The connection is closed after the answer: the parser cannot tell where
 * the bad request ends, so nothing after it on the socket can be trusted.
 */
interface ClientErrorAnswer {
  status: number;
  title: string;
  code: string;
  detail: string;
}

export function clientErrorAnswer(code: string | undefined): ClientErrorAnswer {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, title: 'Request Header Fields Too Large', code: 'HEADERS_TOO_LARGE', detail: 'the request line and headers are over the 16 KB this server reads: send fewer or shorter headers' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, title: 'Request Timeout', code: 'REQUEST_TIMEOUT', detail: 'the request\'s headers did not arrive in time' };
    default:
      return { status: 400, title: 'Bad Request', code: 'MALFORMED_REQUEST', detail: 'the request is not valid HTTP/1.1 (request line, header syntax or framing)' };
  }
}

/** The raw HTTP response for `answer`: the server writes it on the socket itself. */
export function clientErrorResponse(answer: ClientErrorAnswer): string {
  const body = JSON.stringify({
    type: `https://booktape.dev/problems/${answer.code.toLowerCase().replace(/_/g, '-')}`,
    title: answer.title,
    status: answer.status,
    code: answer.code,
    detail: answer.detail,
  });
  return `HTTP/1.1 ${answer.status} ${answer.title}\r\n`
    + 'Content-Type: application/problem+json\r\n'
    + `Content-Length: ${Buffer.byteLength(body)}\r\n`
    + 'Connection: close\r\n\r\n'
    + body;
}

/** Makes `server` answer parser-level errors as problem+json (see above). */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // A reset or half-written socket has no one to answer; a response already under way cannot be replaced.
    const sent = (err as { bytesParsed?: number } & NodeJS.ErrnoException).code === 'ECONNRESET' || !socket.writable
      || (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    if (sent) {
      socket.destroy();
      return;
    }
    socket.end(clientErrorResponse(clientErrorAnswer(err.code)));
  });
}
