import { connect } from 'node:net';

/**
 * Sends `payload` to a TCP replay port and resolves with all the server sent
 * by the time it closed. `halfClose` ends this side after sending, as
 * `echo ... | nc` does; without it the client keeps its side open, as one
 * that sends and waits.
 */
export function tcpExchange(port: number, payload: string, { halfClose = true } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => { data += d; });
    socket.on('end', () => resolve(data));
    // A server that closes on a request it refuses can reset the connection under a write.
    socket.on('error', () => resolve(data));
    if (halfClose) socket.end(payload);
    else socket.write(payload);
  });
}
