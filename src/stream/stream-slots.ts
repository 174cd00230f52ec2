/**
 * The bound on streaming responses (replays over HTTP and TCP, exports)
 * open at once, BOOKTAPE_MAX_STREAMS. Each holds a window of stored rows
 * and a socket's queued chunks, so the bound is what gives the process a
 * memory ceiling (docs/replay.md gives the measured figure). Past it a
 * stream is refused at once (HTTP 503 TOO_MANY_STREAMS, on TCP an error
 * line), never queued.
 */
export class StreamSlots {
  private open = 0;

  constructor(readonly max: number) {}

  /** Takes a slot: its release function (safe to call twice), or null when all are taken. */
  take(): (() => void) | null {
    if (this.open >= this.max) return null;
    this.open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
    };
  }

  get size(): number {
    return this.open;
  }
}

export const TOO_MANY_STREAMS = 'TOO_MANY_STREAMS';

/** What a refused client is told. */
export function tooManyStreamsDetail(max: number): string {
  return `this server streams at most ${max} replays and exports at once (BOOKTAPE_MAX_STREAMS); retry shortly`;
}
