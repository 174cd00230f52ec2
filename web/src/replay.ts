import { failure, headers } from './api.js';
import { frameBook, type Book, type FrameJson } from './model.js';

/** How a replay ended, or where it is. */
export type ReplayStatus =
  | { state: 'playing'; frames: number }
  | { state: 'ended'; frames: number }
  | { state: 'paused'; frames: number }
  | { state: 'cut'; frames: number }
  | { state: 'failed'; frames: number; detail: string };

export interface ReplayOptions {
  symbol: string;
  /** Only frames of this publisher's book, when the symbol has several. */
  publisherId?: number;
  /** Frames after this row key ("ts_recv,instrument_id,publisher_id,sequence,sub_sequence"), or from this instant. */
  after?: string;
  from?: string;
  /** 1 = as recorded; 0 = as fast as the server sends. */
  speed: number;
  depth: number;
}

const SNAPSHOT = '{"type":"snapshot"';

/**
 * Plays /v1/replay (NDJSON over fetch) into a book shown at most once per
 * animation frame: of each chunk's lines only the newest snapshot of the book
 * is parsed, the rest are counted and dropped, and only the newest parsed is
 * drawn, so an unpaced replay neither blocks the page nor piles frames up in
 * memory.
 */
export class Replay {
  private controller: AbortController | null = null;
  private latest: Book | null = null;
  private frame = 0;
  /** Frames received so far, shown with the book. */
  private frames = 0;
  /** The key of the last frame received: a resumed replay continues after it. */
  lastKey: string | null = null;

  constructor(
    private readonly show: (book: Book) => void,
    private readonly status: (s: ReplayStatus) => void,
  ) {}

  get playing(): boolean {
    return this.controller !== null;
  }

  async play(o: ReplayOptions): Promise<void> {
    this.stop();
    const controller = new AbortController();
    this.controller = controller;
    const q = new URLSearchParams({ symbols: o.symbol, depth: String(o.depth), speed: String(o.speed) });
    if (o.after !== undefined) q.set('after', o.after);
    else if (o.from !== undefined) q.set('from', o.from);
    let frames = 0;
    this.frames = 0;
    this.lastKey = null;
    let ended = false;
    const done = (s: ReplayStatus) => {
      if (this.controller === controller) this.controller = null;
      this.flush();
      this.status(s);
    };
    let reading = false;
    try {
      const res = await fetch(`/v1/replay?${q}`, { headers: headers(), signal: controller.signal });
      if (!res.ok) throw await failure(res);
      reading = true;
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let partial = '';
      this.status({ state: 'playing', frames });
      for (;;) {
        const { value, done: finished } = await reader.read();
        if (finished) break;
        const lines = (partial + value).split('\n');
        partial = lines.pop()!;
        // Newest first: the first snapshot met is the key to resume after,
        // the first of this book is the one to show.
        let keyed = false;
        let found = false;
        for (let k = lines.length - 1; k >= 0; k--) {
          const line = lines[k];
          if (!line.startsWith(SNAPSHOT)) {
            const other = JSON.parse(line) as { type: string; detail?: string };
            if (other.type === 'end') ended = true;
            if (other.type === 'error') {
              done({ state: 'failed', frames, detail: other.detail ?? 'the replay failed' });
              return;
            }
            continue;
          }
          frames++;
          if (found) continue;
          const f = JSON.parse(line) as FrameJson;
          if (!keyed) {
            this.lastKey = `${f.ts_recv},${f.instrument_id},${f.publisher_id},${f.sequence},${f.sub_sequence}`;
            keyed = true;
          }
          if (o.publisherId !== undefined && f.publisher_id !== o.publisherId) continue;
          found = true;
          this.latest = frameBook(f);
        }
        this.frames = frames;
        if (found) this.schedule();
      }
      done(ended ? { state: 'ended', frames } : { state: 'cut', frames });
    } catch (err) {
      if ((err as Error).name === 'AbortError') done({ state: 'paused', frames });
      // The connection broke under the body (a reset, not a clean end): cut all the same.
      else if (reading && err instanceof TypeError) done({ state: 'cut', frames });
      else done({ state: 'failed', frames, detail: (err as Error).message });
    }
  }

  stop(): void {
    this.controller?.abort();
    this.controller = null;
  }

  private schedule(): void {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.flush();
    });
  }

  /** Shows the latest book now, if one is waiting. */
  private flush(): void {
    if (this.latest !== null) this.show(this.latest);
    this.latest = null;
    if (this.controller !== null) this.status({ state: 'playing', frames: this.frames });
  }
}
